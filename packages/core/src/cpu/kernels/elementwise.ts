import type { KernelContext } from '../../backend';
import { type DType, f16BitsToF32, f32ToF16Bits } from '../../dtype';
import type { BinaryOp, CastAttrs, ClampAttrs, CompareOp, GeluAttrs, UnaryOp } from '../../ops/elementwise';
import { broadcastStrides } from '../../shape';
import { type CpuArray, type CpuBackend, alloc, cpuKernel } from '../backend';
import { erf, geluErf, geluTanh, roundHalfEven, sigmoid } from '../math';
import { forEachRow, planStrided } from '../strided';

type Num = { [i: number]: number; length: number };
type Big = { [i: number]: bigint; length: number };
/** Inner loop: o[oo + i] = f(a[ao + i·as], b[bo + i·bs]) for i < n. */
type BinLoop = (a: Num, ao: number, as: number, b: Num, bo: number, bs: number, o: Num, oo: number, n: number) => void;

const binLoops: Record<BinaryOp | CompareOp, BinLoop> = {
  add: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++, ao += as, bo += bs) o[oo + i] = a[ao]! + b[bo]!;
  },
  sub: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++, ao += as, bo += bs) o[oo + i] = a[ao]! - b[bo]!;
  },
  mul: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++, ao += as, bo += bs) o[oo + i] = a[ao]! * b[bo]!;
  },
  div: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++, ao += as, bo += bs) o[oo + i] = a[ao]! / b[bo]!;
  },
  pow: (a, ao, as, b, bo, bs, o, oo, n) => {
    // C's pow (and torch): 1 ** y is 1 even for y = NaN; JS ** gives NaN there
    for (let i = 0; i < n; i++, ao += as, bo += bs) {
      const x = a[ao]!;
      o[oo + i] = x === 1 ? 1 : x ** b[bo]!;
    }
  },
  minimum: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++, ao += as, bo += bs) {
      const x = a[ao]!;
      const y = b[bo]!;
      o[oo + i] = x !== x || y !== y ? NaN : x < y ? x : y;
    }
  },
  maximum: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++, ao += as, bo += bs) {
      const x = a[ao]!;
      const y = b[bo]!;
      o[oo + i] = x !== x || y !== y ? NaN : x > y ? x : y;
    }
  },
  equal: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++, ao += as, bo += bs) o[oo + i] = a[ao]! === b[bo]! ? 1 : 0;
  },
  greater: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++, ao += as, bo += bs) o[oo + i] = a[ao]! > b[bo]! ? 1 : 0;
  },
  greaterEqual: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++, ao += as, bo += bs) o[oo + i] = a[ao]! >= b[bo]! ? 1 : 0;
  },
  less: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++, ao += as, bo += bs) o[oo + i] = a[ao]! < b[bo]! ? 1 : 0;
  },
  lessEqual: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++, ao += as, bo += bs) o[oo + i] = a[ao]! <= b[bo]! ? 1 : 0;
  },
};

/** Integer division truncating toward zero (x / 0 gives 0 instead of trapping). */
const divTrunc: BinLoop = (a, ao, as, b, bo, bs, o, oo, n) => {
  for (let i = 0; i < n; i++, ao += as, bo += bs) o[oo + i] = Math.trunc(a[ao]! / b[bo]!) || 0;
};

/** int64 arithmetic (BigInt); division truncates toward zero like the other integer types. */
const bigOps: Record<BinaryOp | CompareOp, (x: bigint, y: bigint) => bigint | boolean> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => {
    if (y === 0n) throw new Error('div: int64 division by zero');
    return x / y;
  },
  pow: (x, y) => x ** y,
  minimum: (x, y) => (x < y ? x : y),
  maximum: (x, y) => (x > y ? x : y),
  equal: (x, y) => x === y,
  greater: (x, y) => x > y,
  greaterEqual: (x, y) => x >= y,
  less: (x, y) => x < y,
  lessEqual: (x, y) => x <= y,
};

function binaryKernel(op: BinaryOp | CompareOp) {
  const loop = binLoops[op];
  cpuKernel(op, (ins, _a, outs, ctx: KernelContext<unknown, CpuBackend>) => {
    const [ia, ib] = [ctx.inputs[0]!, ctx.inputs[1]!];
    const o = alloc(outs[0]!);
    const os = outs[0]!.shape;
    const plan = planStrided(os, [broadcastStrides(os, os), broadcastStrides(ia.shape, os), broadcastStrides(ib.shape, os)]);
    const a = ins[0]!;
    const b = ins[1]!;
    if (ia.dtype === 'int64') {
      const f = bigOps[op];
      const big = outs[0]!.dtype === 'int64';
      forEachRow(plan, [0, 0, 0], (off, n, st) => {
        for (let i = 0, oo = off[0]!, ao = off[1]!, bo = off[2]!; i < n; i++, oo += st[0]!, ao += st[1]!, bo += st[2]!) {
          const r = f((a as Big)[ao]!, (b as Big)[bo]!);
          if (big) (o as Big)[oo] = r as bigint;
          else (o as Num)[oo] = r ? 1 : 0;
        }
      });
      return [o];
    }
    const f = op === 'div' && ia.dtype !== 'float32' && ia.dtype !== 'float16' ? divTrunc : loop;
    // the output is contiguous and walked in order, so its inner stride is 1
    forEachRow(plan, [0, 0, 0], (off, n, st) => f(a as Num, off[1]!, st[1]!, b as Num, off[2]!, st[2]!, o as Num, off[0]!, n));
    return [o];
  });
}

const unaryFns: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  abs: Math.abs,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  exp: Math.exp,
  log: Math.log,
  relu: (x) => (x > 0 ? x : x === x ? 0 : NaN),
  sigmoid,
  tanh: Math.tanh,
  erf,
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundHalfEven,
  reciprocal: (x) => 1 / x,
};

function mapInto(x: Num, o: Num, f: (v: number) => number): void {
  for (let i = 0; i < x.length; i++) o[i] = f(x[i]!);
}

function unaryKernel(op: UnaryOp) {
  const f = unaryFns[op];
  cpuKernel(op, (ins, _a, outs) => {
    const x = ins[0]!;
    const o = alloc(outs[0]!);
    if (x instanceof BigInt64Array) {
      const ob = o as BigInt64Array;
      for (let i = 0; i < x.length; i++) {
        const v = x[i]!;
        ob[i] = op === 'neg' ? -v : op === 'abs' ? (v < 0n ? -v : v) : v > 0n ? v : 0n;
      }
      return [o];
    }
    mapInto(x as Num, o as Num, f);
    return [o];
  });
}

export function registerElementwiseKernels(): void {
  for (const op of Object.keys(binLoops) as (BinaryOp | CompareOp)[]) binaryKernel(op);
  for (const op of Object.keys(unaryFns) as UnaryOp[]) unaryKernel(op);

  cpuKernel<GeluAttrs>('gelu', (ins, a, outs) => {
    const o = alloc(outs[0]!);
    mapInto(ins[0] as Num, o as Num, a.approximate === 'tanh' ? geluTanh : geluErf);
    return [o];
  });

  cpuKernel<ClampAttrs>('clamp', (ins, a, outs) => {
    const x = ins[0]!;
    const o = alloc(outs[0]!);
    if (x instanceof BigInt64Array) {
      for (let i = 0; i < x.length; i++) {
        const v = Number(x[i]!);
        (o as BigInt64Array)[i] = v < a.min ? BigInt(Math.ceil(a.min)) : v > a.max ? BigInt(Math.floor(a.max)) : x[i]!;
      }
      return [o];
    }
    const { min, max } = a;
    const xs = x as Num;
    const os = o as Num;
    for (let i = 0; i < xs.length; i++) {
      const v = xs[i]!;
      os[i] = v < min ? min : v > max ? max : v;
    }
    return [o];
  });

  cpuKernel('where', (ins, _a, outs, ctx) => {
    const [ic, ia, ib] = [ctx.inputs[0]!, ctx.inputs[1]!, ctx.inputs[2]!];
    const os = outs[0]!.shape;
    const o = alloc(outs[0]!);
    const [c, a, b] = [ins[0] as Num, ins[1] as Num, ins[2] as Num];
    const plan = planStrided(os, [broadcastStrides(os, os), broadcastStrides(ic.shape, os), broadcastStrides(ia.shape, os), broadcastStrides(ib.shape, os)]);
    forEachRow(plan, [0, 0, 0, 0], (off, n, st) => {
      for (let i = 0, oo = off[0]!, co = off[1]!, ao = off[2]!, bo = off[3]!; i < n; i++, oo += st[0]!, co += st[1]!, ao += st[2]!, bo += st[3]!) {
        (o as Num)[oo] = c[co] ? a[ao]! : b[bo]!;
      }
    });
    return [o];
  });

  cpuKernel<CastAttrs>(
    'cast',
    (ins, a, outs, ctx) => {
      const from = ctx.inputs[0]!.dtype;
      return [castArray(ins[0]!, from, a.dtype, alloc(outs[0]!))];
    },
    { f16: 'native' },
  );
}

const INT64_MIN = -(2n ** 63n);

/** Converts host array `x` of dtype `from` into `o` of dtype `to` (PyTorch conversion rules). */
export function castArray(x: CpuArray, from: DType, to: DType, o: CpuArray): CpuArray {
  const n = x.length;
  const read: (i: number) => number =
    from === 'float16' ? (i) => f16BitsToF32((x as Uint16Array)[i]!) : from === 'int64' ? (i) => Number((x as BigInt64Array)[i]!) : (i) => (x as Num)[i]!;
  switch (to) {
    case 'float32':
      for (let i = 0; i < n; i++) (o as Float32Array)[i] = read(i);
      break;
    case 'float16':
      for (let i = 0; i < n; i++) (o as Uint16Array)[i] = f32ToF16Bits(read(i));
      break;
    case 'bool':
      for (let i = 0; i < n; i++) (o as Uint8Array)[i] = from === 'int64' ? ((x as BigInt64Array)[i] !== 0n ? 1 : 0) : read(i) !== 0 ? 1 : 0;
      break;
    case 'int64':
      if (from === 'int64') (o as BigInt64Array).set(x as BigInt64Array);
      else
        for (let i = 0; i < n; i++) {
          const v = read(i);
          (o as BigInt64Array)[i] = Number.isFinite(v) ? BigInt(Math.trunc(v)) : INT64_MIN;
        }
      break;
    default:
      // int32 / uint8: typed-array assignment truncates toward zero and wraps like C casts
      if (from === 'int64') for (let i = 0; i < n; i++) (o as Num)[i] = Number(BigInt.asIntN(32, (x as BigInt64Array)[i]!));
      else for (let i = 0; i < n; i++) (o as Num)[i] = Math.trunc(read(i));
  }
  return o;
}
