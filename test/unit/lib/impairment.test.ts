import { describe, expect, it } from 'vitest';
import { describeImpairment, gilbertElliottLoss, parseImpairment, parseRate, toInput } from '../../../src/lib/impairment.js';

describe('impairments as people write them', () => {
  it("reads tc's rates and netem's percentages", () => {
    expect(parseRate('10mbit', 'x')).toBe(10e6);
    expect(parseRate('1.5gbit', 'x')).toBe(1.5e9);
    expect(parseRate('100kbps', 'x')).toBe(800e3);
    expect(parseImpairment({ rate: '10mbit', burst: '32kb', loss: '5%', mtu: 1400 }, 'n1:eth1')).toEqual({ rate: 10e6, burst: 32768, loss: 5, mtu: 1400 });
    expect(parseImpairment({ loss: 0 }, 'x')).toEqual({});
    expect(parseImpairment({ delay: '20ms', jitter: '500us' }, 'x')).toEqual({ delay: 20e6, jitter: 500e3, distribution: 'normal' });
    expect(parseImpairment({ delay: 20, jitter: 5, distribution: 'uniform' }, 'x')).toEqual({ delay: 20e6, jitter: 5e6, distribution: 'uniform' });
    expect(parseImpairment(toInput({ delay: 20e6, jitter: 5e5, distribution: 'uniform', rate: 1e6, loss: 2 }), 'x')).toEqual({
      delay: 20e6,
      jitter: 5e5,
      distribution: 'uniform',
      rate: 1e6,
      loss: 2,
    });
    expect(describeImpairment({ delay: 20e6, jitter: 5e5, distribution: 'normal' })).toBe('delay 20ms jitter 500us normal');
    const ge = parseImpairment({ 'loss-model': { p: '1%', r: '10%' } }, 'x');
    expect(ge).toEqual({ lossModel: { p: 1, r: 10, badLoss: 100, goodLoss: 0 } });
    expect(gilbertElliottLoss(ge.lossModel!)).toBeCloseTo(100 / 11, 6);
    expect(parseImpairment(toInput(ge), 'x')).toEqual(ge);
    expect(() => parseImpairment({ 'loss-model': { p: 0, r: 0 } }, 'x')).toThrow(/p and r cannot both be 0/u);
    expect(describeImpairment({ rate: 10e6, loss: 5, down: true })).toBe('rate 10mbit burst 16kb loss 5% down');
  });

  it('refuses bad values with what was expected, and what needs a delay without one', () => {
    expect(parseImpairment({ corrupt: '1%' }, 'n1:eth1')).toEqual({ corrupt: 1 });
    expect(parseImpairment(toInput({ corrupt: 0.5 }), 'x')).toEqual({ corrupt: 0.5 });
    expect(describeImpairment({ corrupt: 2 })).toBe('corrupt 2%');
    expect(() => parseImpairment({ corrupt: '150%' }, 'n1:eth1')).toThrow(/n1:eth1: invalid corrupt "150%": expected a percentage/u);
    expect(() => parseImpairment({ jitter: '2ms' }, 'x')).toThrow(/give a delay too/u);
    expect(() => parseImpairment({ reorder: '25%' }, 'x')).toThrow(/reorder sends some packets ahead of the delayed ones: give a delay too/u);
    expect(parseImpairment({ duplicate: '1%', reorder: '25%', delay: '10ms' }, 'x')).toEqual({ delay: 10e6, duplicate: 1, reorder: 25 });
    expect(() => parseImpairment({ delay: '2 weeks' }, 'x')).toThrow(/invalid delay "2 weeks"/u);
    expect(() => parseImpairment({ delay: '2ms', jitter: '1ms', distribution: 'pareto' }, 'x')).toThrow(/invalid distribution "pareto"/u);
    expect(() => parseImpairment({ rate: 'fast' }, 'x')).toThrow(/invalid rate "fast"/u);
    expect(() => parseImpairment({ loss: '120%' }, 'x')).toThrow(/invalid loss "120%"/u);
    expect(() => parseImpairment({ burst: '32kb' }, 'x')).toThrow(/give a rate too/u);
    expect(() => parseImpairment({ rate: '1mbit', burst: '100' }, 'x')).toThrow(/invalid burst/u);
    expect(() => parseImpairment({ mtu: 10 }, 'x')).toThrow(/invalid mtu 10/u);
  });
});
