/** Errno values by name, and their names and descriptions for error messages: "EEXIST (File exists)". */
import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { native } from './library.js';

/** Positive errno values by their names, e.g. Errno.ENODEV === 19 on Linux. */
export const Errno = constants.errno;

/** Where libuv's name differs from the one the kernel's headers use for the same number. */
const KERNEL_NAMES: Readonly<Record<number, string>> = { 95: 'EOPNOTSUPP' };

/** The symbolic name of a positive errno, e.g. 17 -> "EEXIST". */
export function errnoName(errno: number): string {
  const kernel = KERNEL_NAMES[errno];
  if (kernel) return kernel;
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}

/** The C library's description, e.g. 17 -> "File exists"; falls back to the name when the native side is absent. */
export function errnoDescription(errno: number): string {
  try {
    return native().strerror(errno) ?? errnoName(errno);
  } catch {
    return errnoName(errno);
  }
}
