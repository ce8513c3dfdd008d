/**
 * A small pickle reader for what torch.save writes in state dicts and np.save in object arrays:
 * containers, numbers, strings, globals applied with REDUCE (handed to a caller's `reduce`), their state
 * (BUILD, to `build`), persistent ids (storages) handed to `persistentLoad`. Protocols 2-4, and protocol
 * 0's text opcodes for containers, numbers and strings (Python 2's default, as in StackGAN's
 * filenames.pickle). Anything else is an error naming the opcode: we never execute code.
 */
export interface PickleGlobal {
  global: string;
}

export interface PickleHooks {
  persistentLoad(pid: unknown): unknown;
  /** Applies callable `fn` (a global such as torch._utils._rebuild_tensor_v2) to its arguments. */
  reduce(fn: PickleGlobal, args: unknown[]): unknown;
  /** Gives an object made by `reduce` its state (BUILD: what `__setstate__` receives); the state is dropped without it. */
  build?(target: unknown, state: unknown): void;
}

const MARK = Symbol('mark');

export function unpickle(bytes: Uint8Array, start: number, hooks: PickleHooks): { value: unknown; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let p = start;
  const text = (n: number) => {
    const s = Buffer.from(bytes.subarray(p, p + n)).toString('utf8');
    p += n;
    return s;
  };
  const line = () => {
    const e = bytes.indexOf(0x0a, p);
    if (e < 0) throw new Error('unterminated pickle line');
    const s = Buffer.from(bytes.subarray(p, e)).toString('latin1');
    p = e + 1;
    return s;
  };
  const popMark = () => {
    const items: unknown[] = [];
    for (;;) {
      const v = stack.pop();
      if (v === MARK) return items.reverse();
      if (stack.length === 0 && v === undefined) throw new Error('pickle MARK not found');
      items.push(v);
    }
  };
  const setItems = (target: unknown, kv: unknown[]) => {
    for (let i = 0; i < kv.length; i += 2) {
      if (target instanceof Map) target.set(kv[i], kv[i + 1]);
      else (target as Record<string, unknown>)[String(kv[i])] = kv[i + 1];
    }
  };
  for (;;) {
    if (p >= bytes.length) throw new Error('pickle ended without STOP (truncated?)');
    const op = bytes[p++];
    switch (op) {
      case 0x80: p++; break; // PROTO
      case 0x95: p += 8; break; // FRAME
      case 0x2e: return { value: stack.pop(), end: p }; // STOP
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x28: stack.push(MARK); break; // MARK
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(bytes[p++]); break; // BININT1
      case 0x4d: stack.push(view.getUint16(p, true)); p += 2; break; // BININT2
      case 0x4a: stack.push(view.getInt32(p, true)); p += 4; break; // BININT
      case 0x8a: { // LONG1
        const n = bytes[p++];
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[p + i]);
        if (n > 0 && bytes[p + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        p += n;
        stack.push(Number(v));
        break;
      }
      case 0x47: stack.push(view.getFloat64(p, false)); p += 8; break; // BINFLOAT
      case 0x58: { const n = view.getUint32(p, true); p += 4; stack.push(text(n)); break; } // BINUNICODE
      case 0x8c: { const n = bytes[p++]; stack.push(text(n)); break; } // SHORT_BINUNICODE
      case 0x54: { const n = view.getUint32(p, true); p += 4; stack.push(text(n)); break; } // BINSTRING
      case 0x55: { const n = bytes[p++]; stack.push(text(n)); break; } // SHORT_BINSTRING
      case 0x43: { const n = bytes[p++]; stack.push(bytes.slice(p, p + n)); p += n; break; } // SHORT_BINBYTES
      case 0x42: { const n = view.getUint32(p, true); p += 4; stack.push(bytes.slice(p, p + n)); p += n; break; } // BINBYTES
      case 0x71: memo.set(bytes[p++], stack[stack.length - 1]); break; // BINPUT
      case 0x72: memo.set(view.getUint32(p, true), stack[stack.length - 1]); p += 4; break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, stack[stack.length - 1]); break; // MEMOIZE
      case 0x68: stack.push(memo.get(bytes[p++])); break; // BINGET
      case 0x6a: stack.push(memo.get(view.getUint32(p, true))); p += 4; break; // LONG_BINGET
      case 0x63: { const module = line(); const name = line(); stack.push({ global: `${module}.${name}` }); break; } // GLOBAL
      case 0x93: { const name = stack.pop(); const module = stack.pop(); stack.push({ global: `${module}.${name}` }); break; } // STACK_GLOBAL
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([stack.pop()]); break; // TUPLE1
      case 0x86: { const b = stack.pop(); const a = stack.pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = stack.pop(); const b = stack.pop(); const a = stack.pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x51: stack.push(hooks.persistentLoad(stack.pop())); break; // BINPERSID
      case 0x52: case 0x81: { // REDUCE, NEWOBJ
        const args = stack.pop() as unknown[];
        const fn = stack.pop() as PickleGlobal;
        stack.push(hooks.reduce(fn, args));
        break;
      }
      case 0x75: { const kv = popMark(); setItems(stack[stack.length - 1], kv); break; } // SETITEMS
      case 0x73: { const v = stack.pop(); const k = stack.pop(); setItems(stack[stack.length - 1], [k, v]); break; } // SETITEM
      case 0x65: { const items = popMark(); (stack[stack.length - 1] as unknown[]).push(...items); break; } // APPENDS
      case 0x61: { const v = stack.pop(); (stack[stack.length - 1] as unknown[]).push(v); break; } // APPEND
      case 0x62: { const state = stack.pop(); hooks.build?.(stack[stack.length - 1], state); break; } // BUILD
      // Protocol 0: arguments are text lines.
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { const d = new Map(); setItems(d, popMark()); stack.push(d); break; } // DICT
      case 0x49: { const v = line(); stack.push(v === '01' ? true : v === '00' ? false : Number(v)); break; } // INT
      case 0x4c: stack.push(BigInt(line().replace(/L$/, ''))); break; // LONG
      case 0x46: stack.push(Number(line())); break; // FLOAT
      case 0x53: stack.push(pythonStringLiteral(line())); break; // STRING
      case 0x56: stack.push(line().replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u, U) => String.fromCodePoint(parseInt(u ?? U, 16)))); break; // UNICODE
      case 0x70: memo.set(Number(line()), stack[stack.length - 1]); break; // PUT
      case 0x67: stack.push(memo.get(Number(line()))); break; // GET
      default:
        throw new Error(`unsupported pickle opcode 0x${op.toString(16)} at byte ${p - 1}`);
    }
  }
}

/** A protocol 0 STRING's argument: a Python 2 str literal in quotes, with its escapes (bytes read as Latin-1). */
function pythonStringLiteral(text: string): string {
  const quote = text[0];
  if ((quote !== "'" && quote !== '"') || text[text.length - 1] !== quote) throw new Error(`pickle STRING is not quoted: ${text.slice(0, 40)}`);
  const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v' };
  return text.slice(1, -1).replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]+$/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return escapes[e] ?? `\\${e}`;
  });
}

/** The strings of a pickled list of strings (file names in a pickle): no globals, nothing executed. */
export function unpickleStrings(bytes: Uint8Array, what: string): string[] {
  const refuse = () => {
    throw new Error(`${what} holds Python objects, not a list of names`);
  };
  const { value } = unpickle(bytes, 0, { persistentLoad: refuse, reduce: refuse });
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' || v instanceof Uint8Array)) throw new Error(`${what} is not a list of names`);
  return value.map((v) => (typeof v === 'string' ? v : Buffer.from(v).toString('utf8')));
}
