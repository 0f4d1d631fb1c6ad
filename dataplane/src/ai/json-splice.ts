// Editing a few top-level members of a JSON object without serialising the whole body again:
// pass-through requests change at most the model and stream_options, and re-stringifying a large
// prompt costs as much as parsing it. The text must already be valid JSON (it was parsed first).

/** Top-level member name → its new value as JSON text, or undefined to remove the member. */
export type JsonEdits = Record<string, string | undefined>;

interface Member {
  name: string;
  /** Start of the member (its name's opening quote). */
  start: number;
  valueStart: number;
  valueEnd: number;
}

/**
 * Applies `edits` to the top-level object in `text`: existing members get the new value (every
 * occurrence, should a name repeat), missing ones are inserted first, removed ones disappear with
 * their comma. Returns `text` itself when nothing changes.
 */
export function spliceJson(text: string, edits: JsonEdits): string {
  const names = Object.keys(edits);
  if (names.length === 0) return text;
  const { open, members } = scanTopLevel(text);
  const seen = new Set<string>();
  // Work from the end so earlier offsets stay valid.
  let out = text;
  for (let i = members.length - 1; i >= 0; i--) {
    const member = members[i]!;
    if (!Object.hasOwn(edits, member.name)) continue;
    seen.add(member.name);
    const value = edits[member.name];
    if (value !== undefined) {
      out = out.slice(0, member.valueStart) + value + out.slice(member.valueEnd);
      continue;
    }
    // Remove "name": value together with one adjacent comma.
    let from = member.start;
    let to = member.valueEnd;
    const after = skipSpace(out, to);
    if (out[after] === ',') to = after + 1;
    else {
      const before = previousNonSpace(out, from - 1);
      if (out[before] === ',') from = before;
    }
    out = out.slice(0, from) + out.slice(to);
  }
  const inserted = names
    .filter((name) => !seen.has(name) && edits[name] !== undefined)
    .map((name) => `${JSON.stringify(name)}:${edits[name]}`);
  if (inserted.length === 0) return out;
  const hasMembers = members.some((m) => !(Object.hasOwn(edits, m.name) && edits[m.name] === undefined));
  return `${out.slice(0, open + 1)}${inserted.join(',')}${hasMembers ? ',' : ''}${out.slice(open + 1)}`;
}

function scanTopLevel(text: string): { open: number; members: Member[] } {
  const members: Member[] = [];
  let i = skipSpace(text, 0);
  if (text[i] !== '{') throw new Error('not a JSON object');
  const open = i;
  i = skipSpace(text, i + 1);
  if (text[i] === '}') return { open, members };
  for (;;) {
    const start = i;
    const nameEnd = skipString(text, i);
    const raw = text.slice(i + 1, nameEnd - 1);
    const name = raw.includes('\\') ? (JSON.parse(text.slice(i, nameEnd)) as string) : raw;
    i = skipSpace(text, nameEnd);
    i = skipSpace(text, i + 1); // past ':'
    const valueStart = i;
    const valueEnd = skipValue(text, i);
    members.push({ name, start, valueStart, valueEnd });
    i = skipSpace(text, valueEnd);
    if (text[i] === '}') return { open, members };
    i = skipSpace(text, i + 1); // past ','
  }
}

function skipSpace(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
    i++;
  }
  return i;
}

function previousNonSpace(text: string, i: number): number {
  while (i >= 0) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
    i--;
  }
  return i;
}

/** `i` at an opening quote; returns the index after the closing one. */
function skipString(text: string, i: number): number {
  i++;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 92 /* \ */) i += 2;
    else if (c === 34 /* " */) return i + 1;
    else i++;
  }
}

function skipValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return skipString(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    while (i < text.length) {
      const ch = text[i];
      if (ch === '"') {
        i = skipString(text, i);
        continue;
      }
      if (ch === '{' || ch === '[') depth++;
      else if (ch === '}' || ch === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  // Number, true, false, null.
  while (i < text.length) {
    const ch = text[i];
    if (ch === ',' || ch === '}' || ch === ']' || ch === ' ' || ch === '\n' || ch === '\r' || ch === '\t')
      break;
    i++;
  }
  return i;
}
