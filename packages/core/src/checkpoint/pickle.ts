/**
 * A strict unpickler for the pickle subset torch.save emits (protocols 2-4, plus Python 2's BINSTRING).
 * It never calls anything itself: GLOBAL / STACK_GLOBAL are handed to `resolveGlobal`, which returns an
 * allowlisted stand-in or throws; REDUCE / NEWOBJ only call `PyGlobal.invoke` of such stand-ins.
 *
 * Value model: None -> null, bool -> boolean, int -> number (bigint beyond 2^53), float -> number,
 * str -> string, bytes -> Uint8Array, list -> array, tuple -> frozen array, dict -> PyDict.
 */
import { CheckpointError } from './types';

/** A Python dict (ordered, like OrderedDict); BUILD state lands in `attrs` (e.g. a state dict's `_metadata`). */
export class PyDict extends Map<unknown, unknown> {
  readonly attrs = new Map<string, unknown>();

  setState(state: unknown): void {
    if (!(state instanceof PyDict)) throw new TypeError('dict state must be a dict');
    for (const [k, v] of state) {
      if (typeof k !== 'string') throw new TypeError('dict attribute names must be strings');
      this.attrs.set(k, v);
    }
  }
}

/** An allowlisted global; `invoke` (when present) implements calling it via REDUCE / NEWOBJ. */
export class PyGlobal {
  constructor(
    readonly qualname: string,
    readonly invoke?: (args: readonly unknown[]) => unknown,
  ) {}
}

/** An object that accepts BUILD state. */
interface PyStateful {
  setState(state: unknown): void;
}

export interface UnpickleOptions {
  /** Label of the pickle in error messages, e.g. 'archive/data.pkl'. */
  where: string;
  source?: string;
  /** Returns the stand-in for `module.name`, or throws to refuse it (plain errors get the pickle position). */
  resolveGlobal(module: string, name: string): unknown;
  /** Resolves a BINPERSID / PERSID id (torch: storage references). */
  persistentLoad(pid: unknown): unknown;
}

export function isTuple(x: unknown): x is readonly unknown[] {
  return Array.isArray(x) && Object.isFrozen(x);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Python int from a bigint: a number when exactly representable. */
function pyInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Decodes a little-endian two's-complement integer (LONG1 / LONG4 payload). */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return pyInt(v);
}

/**
 * Unpickles one pickle starting at `start`; returns its value and the offset just past its STOP opcode
 * (legacy torch files hold several pickles back to back).
 */
export function unpickle(bytes: Uint8Array, start: number, opts: UnpickleOptions): { value: unknown; end: number } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = start;
  let opPos = start;

  const fail = (msg: string): never => {
    throw new CheckpointError(`${opts.where} byte ${opPos - start}: ${msg}`, opts.source);
  };
  /** Runs a hook (global resolution, call, BUILD, persistent load), giving its plain errors the pickle position. */
  const hook = <T>(fn: () => T, prefix = ''): T => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      return fail(prefix + (e as Error).message);
    }
  };
  const need = (n: number): number => {
    if (pos + n > bytes.length) fail('truncated pickle: data ends inside an opcode');
    const p = pos;
    pos += n;
    return p;
  };
  const take = (n: number): Uint8Array => bytes.subarray(need(n), pos);
  const u8 = (): number => bytes[need(1)]!;
  const u16 = (): number => dv.getUint16(need(2), true);
  const u32 = (): number => dv.getUint32(need(4), true);
  const u64 = (): number => {
    const v = dv.getBigUint64(need(8), true);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? fail('length too large') : Number(v);
  };
  const line = (): string => {
    const nl = bytes.indexOf(0x0a, pos);
    if (nl < 0) fail('truncated pickle: missing newline');
    return text(bytes.subarray(need(nl + 1 - pos), nl));
  };
  const text = (b: Uint8Array): string => {
    try {
      return utf8.decode(b);
    } catch {
      return fail('invalid UTF-8 string');
    }
  };
  /** The top item, which must lie above the innermost MARK. */
  const top = (): unknown => {
    if (stack.length <= (marks.length ? marks[marks.length - 1]! : 0)) fail('pickle stack underflow');
    return stack[stack.length - 1];
  };
  const pop = (): unknown => {
    top();
    return stack.pop();
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail('pickle MARK missing');
    return stack.splice(m!);
  };
  const memoGet = (i: number): unknown => (memo.has(i) ? memo.get(i) : fail(`memo key ${i} is not defined`));
  const call = (callable: unknown, args: unknown, op: string): unknown => {
    if (!(callable instanceof PyGlobal) || !callable.invoke) {
      return fail(`${op} of ${callable instanceof PyGlobal ? `'${callable.qualname}'` : 'a non-global'}, which tubelet cannot call`);
    }
    if (!isTuple(args)) return fail(`${op} of '${callable.qualname}' with non-tuple arguments`);
    const invoke = callable.invoke;
    return hook(() => invoke(args), `${callable.qualname}(): `);
  };
  const asList = (x: unknown, op: string): unknown[] =>
    Array.isArray(x) && !Object.isFrozen(x) ? x : fail(`${op} on a non-list`);
  const asDict = (x: unknown, op: string): PyDict => (x instanceof PyDict ? x : fail(`${op} on a non-dict`));
  const setItems = (dict: PyDict, items: unknown[]): void => {
    if (items.length % 2) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
  };

  for (;;) {
    opPos = pos;
    if (pos >= bytes.length) fail('truncated pickle: data ends before STOP');
    const op = bytes[pos++]!;
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('unsupported pickle protocol');
        break;
      case 0x95: // FRAME (a length hint; frames are read inline)
        need(8);
        break;
      case 0x2e: {
        // STOP
        const value = pop();
        if (stack.length || marks.length) fail('pickle STOP with a non-empty stack');
        return { value, end: pos };
      }
      case 0x28: // MARK (marks are kept as stack heights)
        marks.push(stack.length);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      // ---- constants and numbers
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4a: // BININT
        stack.push(dv.getInt32(need(4), true));
        break;
      case 0x8a: // LONG1
        stack.push(decodeLong(take(u8())));
        break;
      case 0x8b: {
        // LONG4
        const n = dv.getInt32(need(4), true);
        stack.push(decodeLong(take(n < 0 ? fail('negative LONG4 length') : n)));
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        stack.push(dv.getFloat64(need(8), false));
        break;
      // ---- strings and bytes
      case 0x58: // BINUNICODE
        stack.push(text(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(take(u64())));
        break;
      case 0x54: {
        // BINSTRING (Python 2 str; torch decodes these as UTF-8)
        const n = dv.getInt32(need(4), true);
        stack.push(text(take(n < 0 ? fail('negative BINSTRING length') : n)));
        break;
      }
      case 0x55: // SHORT_BINSTRING
        stack.push(text(take(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()).slice());
        break;
      // ---- containers
      case 0x29: // EMPTY_TUPLE
        stack.push(Object.freeze([]));
        break;
      case 0x85: // TUPLE1
        stack.push(Object.freeze([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push(Object.freeze([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(Object.freeze([pop(), b, c]));
        break;
      }
      case 0x74: // TUPLE
        stack.push(Object.freeze(popMark()));
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        asList(top(), 'APPEND').push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = asList(top(), 'APPENDS');
        for (const item of items) list.push(item);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x64: {
        // DICT
        const d = new PyDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        asDict(top(), 'SETITEM').set(k, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(asDict(top(), 'SETITEMS'), items);
        break;
      }
      // ---- memo
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      // ---- globals, calls, persistent ids
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        stack.push(hook(() => opts.resolveGlobal(module, name)));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL with non-string names');
        stack.push(hook(() => opts.resolveGlobal(module as string, name as string)));
        break;
      }
      case 0x52: // REDUCE
      case 0x81: {
        // NEWOBJ (cls.__new__(cls, *args): the allowlisted classes build the same object either way)
        const args = pop();
        stack.push(call(pop(), args, op === 0x52 ? 'REDUCE' : 'NEWOBJ'));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const obj = top() as Partial<PyStateful> | null;
        if (typeof obj !== 'object' || obj === null || typeof obj.setState !== 'function') fail('BUILD on an object without state');
        hook(() => obj!.setState!(state));
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        stack.push(hook(() => opts.persistentLoad(pid)));
        break;
      }
      case 0x50: {
        // PERSID
        const pid = line();
        stack.push(hook(() => opts.persistentLoad(pid)));
        break;
      }
      default:
        fail(`unsupported or invalid pickle opcode 0x${op.toString(16).padStart(2, '0')}${op >= 0x20 && op < 0x7f ? ` ('${String.fromCharCode(op)}')` : ''}`);
    }
  }
}
