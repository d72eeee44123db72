/** Docker's sizes: a whole number with an optional unit b, k, m or g (powers of 1024), as --memory and --shm-size take them. */

const UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** The bytes of "64m", "1g", "512k" or "1048576"; undefined when the text is not a size. */
export function parseByteSize(text: string): number | undefined {
  const m = /^(\d+)([bkmg]?)$/iu.exec(text.trim());
  return m ? Number(m[1]) * UNITS[m[2]!.toLowerCase()]! : undefined;
}
