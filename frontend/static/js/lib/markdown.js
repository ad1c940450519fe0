// Markdown for project instructions, which project owners write and annotators read, so it is untrusted.
// parseMarkdown turns the source into a tree of a few known node types and never passes HTML through;
// renderTo builds DOM from that tree with createElement/createTextNode/textContent only. Everything but
// renderTo is free of the DOM so node can test it.
//
// Blocks:  {type: "heading", level, children} {type: "paragraph", children} {type: "rule"}
//          {type: "list", ordered, items: [[inline...], ...]} {type: "code", text} {type: "quote", children: [blocks]}
// Inlines: {type: "text", text} {type: "strong", children} {type: "em", children} {type: "code", text}
//          {type: "link", href, children} {type: "image", src, alt} {type: "br"}

/** Deeper "> > >" quotes than this stay literal text. */
const MAX_QUOTE_DEPTH = 8;
/** Emphasis/link nesting deeper than this is flattened, so no tree is deep enough to overflow a stack. */
const MAX_INLINE_NEST = 16;
/** Links and images inside link labels inside ... no deeper than this. */
const MAX_LINK_DEPTH = 4;
/** Longer link destinations are not links (and bound the work a malformed link can cause). */
const MAX_URL_LENGTH = 2048;
const MAX_TITLE_LENGTH = 1024;

const LINK_SCHEMES = new Set(["http", "https", "mailto"]);
const IMAGE_SCHEMES = new Set(["http", "https"]);

// ---------------------------------------------------------------------------------------------------------
// URLs
// ---------------------------------------------------------------------------------------------------------

/**
 * The URL if it is safe to put in an href (or, with image: true, an img src), else null.
 * Links: http:, https:, mailto: and relative URLs ("/x" but not "//x", "#x", "?x", "x/y"; not "x:y").
 * Images: http:, https: and "/media/..." only. The scheme is found after removing whitespace and
 * control characters, case-insensitively; any other scheme (javascript:, data:, vbscript:, file:, or
 * something that merely looks like one such as "jav&#x61;script:") is refused.
 * @param {string} url
 * @param {{image?: boolean}} [options]
 * @returns {string|null} the URL trimmed and without tabs/newlines (as a browser would read it)
 */
export function safeUrl(url, { image = false } = {}) {
  if (typeof url !== "string") return null;
  // What a browser's URL parser does first: strip C0 controls and spaces at the ends, drop tab/CR/LF anywhere.
  const value = url.replace(/^[\x00-\x20\x7f]+|[\x00-\x20\x7f]+$/g, "").replace(/[\t\n\r]/g, "");
  if (!value || value.length > MAX_URL_LENGTH || /[\x00-\x1f\x7f]/.test(value)) return null;
  const probe = value.replace(/\s+/gu, "");
  // "//host" and "/\host" are protocol-relative in browsers; a leading backslash reads as a slash.
  if (!probe || probe[0] === "\\" || /^\/[\\/]/.test(probe)) return null;
  // A ":" before the first "/" makes a scheme, which must be allowed ("jav&#x61;script:" is not a real
  // scheme but is refused too); "#..." and "?..." stay on the page whatever they hold.
  const stop = probe.search(/[:/]/);
  if (probe[0] !== "#" && probe[0] !== "?" && stop >= 0 && probe[stop] === ":") {
    const scheme = probe.slice(0, stop).toLowerCase();
    return (image ? IMAGE_SCHEMES : LINK_SCHEMES).has(scheme) ? value : null;
  }
  if (!image) return value;
  // Images may only come from this site's media, never climb out of it.
  if (!probe.startsWith("/media/") || /%2e|(^|\/)\.\.?(\/|$)|\\/i.test(probe)) return null;
  return value;
}

// ---------------------------------------------------------------------------------------------------------
// Blocks
// ---------------------------------------------------------------------------------------------------------

const BLANK = /^[ \t]*$/;
const FENCE_OPEN = /^( {0,3})(`{3,}|~{3,})(.*)$/;
const FENCE_CLOSE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$/;
const RULE = /^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$/;
const QUOTE = /^ {0,3}>/;
const ITEM = /^[ \t]*([-*+]|\d{1,9}[.)])(?:[ \t]+(.*))?$/;

/**
 * Parse Markdown into block nodes (see the top of this file). Raw HTML stays literal text.
 * @param {string} source
 * @returns {object[]}
 */
export function parseMarkdown(source) {
  if (source === null || source === undefined) return [];
  const text = String(source).replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n").replace(/\0/g, "\uFFFD");
  return parseBlocks(text.split("\n"), 0);
}

/** Leading whitespace in columns, tabs to the next multiple of 4. */
function indentOf(line) {
  let width = 0;
  for (const c of line) {
    if (c === " ") width++;
    else if (c === "\t") width += 4 - (width % 4);
    else break;
  }
  return width;
}

/** The line without up to `columns` columns of leading whitespace. */
function stripColumns(line, columns) {
  let width = 0;
  let i = 0;
  while (i < line.length && width < columns) {
    if (line[i] === " ") width++;
    else if (line[i] === "\t") {
      const tab = 4 - (width % 4);
      if (width + tab > columns) return " ".repeat(width + tab - columns) + line.slice(i + 1);
      width += tab;
    } else break;
    i++;
  }
  return line.slice(i);
}

function fenceOpen(line) {
  const m = FENCE_OPEN.exec(line);
  return m && !(m[2][0] === "`" && m[3].includes("`")) ? m : null;
}

function isOrdered(marker) {
  return marker[0] >= "0" && marker[0] <= "9";
}

/** Whether the line starts a block other than a paragraph; `interrupting`: as it would inside a paragraph. */
function startsBlock(line, interrupting) {
  if (indentOf(line) >= 4) return false;
  if (fenceOpen(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line)) return true;
  const m = ITEM.exec(line);
  if (!m) return false;
  if (!interrupting) return true;
  return Boolean(m[2] && m[2].trim()) && (!isOrdered(m[1]) || parseInt(m[1], 10) === 1);
}

function parseBlocks(lines, depth) {
  const blocks = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (BLANK.test(line)) {
      i++;
      continue;
    }
    if (indentOf(line) >= 4) {
      const body = [];
      while (i < lines.length && (BLANK.test(lines[i]) || indentOf(lines[i]) >= 4)) body.push(stripColumns(lines[i++], 4));
      while (body.length && BLANK.test(body[body.length - 1])) body.pop();
      blocks.push({ type: "code", text: body.join("\n") });
      continue;
    }
    let m = fenceOpen(line);
    if (m) {
      const [, pad, marker] = m;
      const body = [];
      for (i++; i < lines.length; i++) {
        const close = FENCE_CLOSE.exec(lines[i]);
        if (close && close[1][0] === marker[0] && close[1].length >= marker.length) {
          i++;
          break;
        }
        body.push(stripColumns(lines[i], pad.length));
      }
      blocks.push({ type: "code", text: body.join("\n") });
      continue;
    }
    if ((m = HEADING.exec(line))) {
      const content = (m[2] || "").replace(/(?:^|[ \t]+)#+$/, "");
      blocks.push({ type: "heading", level: m[1].length, children: parseInline(content) });
      i++;
      continue;
    }
    if (RULE.test(line)) {
      blocks.push({ type: "rule" });
      i++;
      continue;
    }
    if (QUOTE.test(line) && depth < MAX_QUOTE_DEPTH) {
      const inner = [];
      while (i < lines.length) {
        const l = lines[i];
        if (QUOTE.test(l)) inner.push(l.replace(/^ {0,3}> ?/, ""));
        // A "lazy" line continues the quote's paragraph without its own ">".
        else if (!BLANK.test(l) && inner.length && !BLANK.test(inner[inner.length - 1]) && !startsBlock(l, true)) inner.push(l);
        else break;
        i++;
      }
      blocks.push({ type: "quote", children: parseBlocks(inner, depth + 1) });
      continue;
    }
    if ((m = ITEM.exec(line))) {
      const parsed = parseList(lines, i, isOrdered(m[1]));
      blocks.push(parsed.block);
      i = parsed.next;
      continue;
    }
    const para = [line];
    for (i++; i < lines.length && !BLANK.test(lines[i]) && !startsBlock(lines[i], true); i++) para.push(lines[i]);
    blocks.push({ type: "paragraph", children: parseInline(joinLines(para)) });
  }
  return blocks;
}

/** A list from lines[start]; nested items are flattened into it. Items hold inline nodes only. */
function parseList(lines, start, ordered) {
  const items = [];
  let current = [ITEM.exec(lines[start])[2] || ""];
  let i = start + 1;
  while (i < lines.length) {
    const line = lines[i];
    if (BLANK.test(line)) {
      let k = i + 1;
      while (k < lines.length && BLANK.test(lines[k])) k++;
      if (k >= lines.length) {
        i = k;
        break;
      }
      const next = lines[k];
      const nm = ITEM.exec(next);
      if (nm && !RULE.test(next) && (indentOf(next) >= 2 || isOrdered(nm[1]) === ordered)) {
        i = k;
        continue;
      }
      if (!nm && indentOf(next) >= 2) {
        current.push(null); // a second paragraph in the item: shown after a line break
        i = k;
        continue;
      }
      break;
    }
    const im = RULE.test(line) ? null : ITEM.exec(line);
    if (im) {
      if (indentOf(line) < 2 && isOrdered(im[1]) !== ordered) break;
      items.push(current);
      current = [im[2] || ""];
    } else if (indentOf(line) < 4 && startsBlock(line, false)) {
      break;
    } else {
      current.push(line);
    }
    i++;
  }
  items.push(current);
  return { block: { type: "list", ordered, items: items.map((item) => parseInline(joinLines(item))) }, next: i };
}

/**
 * A paragraph's lines as one string: a line break ends in "\n" when the line ended with two spaces or
 * a backslash (or null stands between the lines), else becomes a space.
 */
function joinLines(lines) {
  const segments = [];
  let gap = false;
  for (const raw of lines) {
    if (raw === null) {
      gap = true;
      continue;
    }
    const text = raw.replace(/^[ \t]+/, "");
    if (!text) continue; // an empty first item line
    if (gap && segments.length) segments[segments.length - 1].hard ||= true;
    gap = false;
    let hard = false;
    if (/ {2,}$/.test(text)) hard = true;
    else if (/(?:^|[^\\])(?:\\\\)*\\$/.test(text)) hard = "\\";
    segments.push({ text, hard });
  }
  let out = "";
  segments.forEach((segment, k) => {
    const last = k === segments.length - 1;
    let text = segment.text;
    if (!last && segment.hard === "\\") text = text.slice(0, -1);
    out += text.replace(/[ \t]+$/, "") + (last ? "" : segment.hard ? "\n" : " ");
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Inlines
// ---------------------------------------------------------------------------------------------------------

const ASCII_PUNCT = /[!-/:-@[-`{-~]/;
const SPECIAL = /[\\\n`<![*_]/g;
const WHITESPACE = /\s/u;
const PUNCTUATION = /[\p{P}\p{S}]/u;
// CommonMark's flanking rules leave "**注意：**请" unbolded; next to CJK text, punctuation does not block emphasis.
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
const AUTOLINK_URI = /<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>\x00-\x1f\x7f]*)>/y;
const AUTOLINK_EMAIL =
  /<([A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)>/y;

/** Inline nodes for a paragraph's text ("\n" is a hard break). */
function parseInline(s) {
  const ctx = { s, ticks: backtickRuns(s), match: null };
  ctx.match = matchBrackets(ctx);
  return parseRange(ctx, 0, s.length, 0, false).nodes;
}

/** Backtick runs: length -> sorted start positions, so a code span's closer is a binary search away. */
function backtickRuns(s) {
  const runs = new Map();
  const re = /`+/g;
  let m;
  while ((m = re.exec(s))) {
    if (!runs.has(m[0].length)) runs.set(m[0].length, []);
    runs.get(m[0].length).push(m.index);
  }
  return runs;
}

/** Start of the first backtick run of exactly `length` starting in [from, end), or -1. */
function findTicks(ctx, length, from, end) {
  const starts = ctx.ticks.get(length);
  if (!starts) return -1;
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid] < from) lo = mid + 1;
    else hi = mid;
  }
  return lo < starts.length && starts[lo] + length <= end ? starts[lo] : -1;
}

function runLength(s, i, end, char) {
  let j = i;
  while (j < end && s[j] === char) j++;
  return j - i;
}

function matchAutolink(s, i, end) {
  for (const [re, email] of [[AUTOLINK_URI, false], [AUTOLINK_EMAIL, true]]) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (m && m.index + m[0].length <= end) {
      return { label: m[1], href: email ? `mailto:${m[1]}` : m[1], end: m.index + m[0].length };
    }
  }
  return null;
}

/** "[" position -> its "]", skipping escapes, code spans and autolinks, in one pass. */
function matchBrackets(ctx) {
  const { s } = ctx;
  const match = new Map();
  const open = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === "\\" && i + 1 < s.length && ASCII_PUNCT.test(s[i + 1])) {
      i += 2;
    } else if (c === "`") {
      const length = runLength(s, i, s.length, "`");
      const close = findTicks(ctx, length, i + length, s.length);
      i = close >= 0 ? close + length : i + length;
    } else if (c === "<") {
      const auto = matchAutolink(s, i, s.length);
      i = auto ? auto.end : i + 1;
    } else {
      if (c === "[") open.push(i);
      else if (c === "]" && open.length) match.set(open.pop(), i);
      i++;
    }
  }
  return match;
}

function charBefore(s, i) {
  if (i <= 0) return "";
  const low = s.charCodeAt(i - 1);
  return low >= 0xdc00 && low <= 0xdfff && i >= 2 ? s.slice(i - 2, i) : s[i - 1];
}

function charAfter(s, i) {
  return i >= s.length ? "" : String.fromCodePoint(s.codePointAt(i));
}

/** A "*" or "_" run's ability to open and close emphasis (CommonMark's flanking rules, CJK-friendly). */
function delimiter(s, i, length, char) {
  const before = charBefore(s, i);
  const after = charAfter(s, i + length);
  const spaceBefore = before === "" || WHITESPACE.test(before);
  const spaceAfter = after === "" || WHITESPACE.test(after);
  const punctBefore = PUNCTUATION.test(before);
  const punctAfter = PUNCTUATION.test(after);
  const left = !spaceAfter && (!punctAfter || spaceBefore || punctBefore || CJK.test(before));
  const right = !spaceBefore && (!punctBefore || spaceAfter || punctAfter || CJK.test(after));
  const canOpen = char === "*" ? left : left && (!right || punctBefore);
  const canClose = char === "*" ? right : right && (!left || punctAfter);
  return { delim: char, count: length, orig: length, canOpen, canClose, nodes: null, nest: 0 };
}

/** A link destination and optional title from position p (just after "("), up to and including ")". */
function parseDestination(s, p, end) {
  const skip = (q) => {
    while (q < end && (s[q] === " " || s[q] === "\t" || s[q] === "\n")) q++;
    return q;
  };
  let q = skip(p);
  let url;
  if (s[q] === "<") {
    let r = q + 1;
    while (r < end && r - q <= MAX_URL_LENGTH && s[r] !== ">" && s[r] !== "<" && s[r] !== "\n") r += s[r] === "\\" ? 2 : 1;
    if (r >= end || s[r] !== ">") return null;
    url = s.slice(q + 1, r);
    q = r + 1;
  } else {
    let parens = 0;
    let r = q;
    while (r < end && r - q <= MAX_URL_LENGTH) {
      const c = s[r];
      if (c === "\\" && r + 1 < end && ASCII_PUNCT.test(s[r + 1])) {
        r += 2;
        continue;
      }
      if (c === "(" && ++parens > 32) return null; // CommonMark's limit; also bounds the work
      else if (c === ")" && parens-- === 0) break;
      else if (c <= " ") break;
      r++;
    }
    if (parens > 0 || r - q > MAX_URL_LENGTH) return null;
    url = s.slice(q, r);
    q = r;
  }
  const afterUrl = q;
  q = skip(q);
  if (q > afterUrl && (s[q] === '"' || s[q] === "'" || s[q] === "(")) {
    const closer = s[q] === "(" ? ")" : s[q];
    let r = q + 1;
    while (r < end && r - q <= MAX_TITLE_LENGTH && s[r] !== closer) r += s[r] === "\\" ? 2 : 1;
    if (r >= end || s[r] !== closer) return null;
    q = skip(r + 1);
  }
  if (s[q] !== ")" || q >= end) return null;
  return { url: url.replace(/\\([!-/:-@[-`{-~])/g, "$1"), end: q + 1 };
}

/** The text a reader sees in inline nodes: for an unsafe link's label or an image's alt. */
export function plainText(nodes) {
  let out = "";
  for (const node of Array.isArray(nodes) ? nodes : []) {
    if (!node) continue;
    if (node.type === "text" || node.type === "code") out += String(node.text ?? "");
    else if (node.type === "image") out += String(node.alt ?? "");
    else if (node.type === "br") out += " ";
    else if (Array.isArray(node.children)) out += plainText(node.children);
  }
  return out;
}

/** Inline nodes for s[start, end) and how deeply they nest. */
function parseRange(ctx, start, end, linkDepth, inLink) {
  const { s } = ctx;
  const head = { next: null, prev: null };
  let tail = head;
  const push = (item) => {
    item.prev = tail;
    item.next = null;
    tail.next = item;
    tail = item;
  };
  const pushNode = (node, nest = 0) => push({ delim: null, nodes: [node], nest });
  let text = "";
  const flush = () => {
    if (text) pushNode({ type: "text", text });
    text = "";
  };

  let i = start;
  while (i < end) {
    SPECIAL.lastIndex = i;
    const found = SPECIAL.exec(s);
    const k = found && found.index < end ? found.index : end;
    if (k > i) {
      text += s.slice(i, k);
      i = k;
      if (i >= end) break;
    }
    const c = s[i];
    if (c === "\\") {
      const escaped = i + 1 < end && ASCII_PUNCT.test(s[i + 1]);
      text += escaped ? s[i + 1] : "\\";
      i += escaped ? 2 : 1;
    } else if (c === "\n") {
      flush();
      pushNode({ type: "br" });
      i++;
    } else if (c === "`") {
      const length = runLength(s, i, end, "`");
      const close = findTicks(ctx, length, i + length, end);
      if (close < 0) {
        text += s.slice(i, i + length);
        i += length;
        continue;
      }
      let code = s.slice(i + length, close).replace(/\n/g, " ");
      if (code.length > 2 && code[0] === " " && code[code.length - 1] === " " && code.trim()) code = code.slice(1, -1);
      flush();
      pushNode({ type: "code", text: code });
      i = close + length;
    } else if (c === "<") {
      const auto = matchAutolink(s, i, end);
      if (!auto) {
        text += "<";
        i++;
        continue;
      }
      flush();
      const href = safeUrl(auto.href);
      if (href && !inLink) pushNode({ type: "link", href, children: [{ type: "text", text: auto.label }] }, 1);
      else pushNode({ type: "text", text: auto.label });
      i = auto.end;
    } else if (c === "[" || (c === "!" && s[i + 1] === "[" && i + 1 < end)) {
      const image = c === "!";
      const open = image ? i + 1 : i;
      const close = ctx.match.get(open);
      const dest = close !== undefined && close < end && s[close + 1] === "(" && (image || !inLink) &&
        linkDepth < MAX_LINK_DEPTH ? parseDestination(s, close + 2, end) : null;
      if (!dest) {
        text += image ? "![" : "[";
        i = open + 1;
        continue;
      }
      flush();
      const label = parseRange(ctx, open + 1, close, linkDepth + 1, true);
      if (image) {
        const src = safeUrl(dest.url, { image: true });
        const alt = plainText(label.nodes);
        pushNode(src ? { type: "image", src, alt } : { type: "text", text: alt });
      } else {
        const href = safeUrl(dest.url);
        if (href && label.nest < MAX_INLINE_NEST) pushNode({ type: "link", href, children: label.nodes }, label.nest + 1);
        else pushNode({ type: "text", text: plainText(label.nodes) });
      }
      i = dest.end;
    } else if (c === "*" || c === "_") {
      const length = runLength(s, i, end, c);
      flush();
      push(delimiter(s, i, length, c));
      i += length;
    } else {
      text += c; // a "!" not starting an image
      i++;
    }
  }
  flush();
  processEmphasis(head);
  return collect(head.next, null);
}

/** Turn matching delimiter runs into strong/em items (CommonMark's "process emphasis"). */
function processEmphasis(head) {
  let first = null;
  let last = null;
  for (let item = head.next; item; item = item.next) {
    if (!item.delim) continue;
    item.dprev = last;
    item.dnext = null;
    if (last) last.dnext = item;
    else first = item;
    last = item;
  }
  const unlinkDelim = (d) => {
    if (d.dprev) d.dprev.dnext = d.dnext;
    if (d.dnext) d.dnext.dprev = d.dprev;
  };
  const unlinkItem = (item) => {
    item.prev.next = item.next;
    if (item.next) item.next.prev = item.prev;
  };
  // Per kind of closer, the delimiter below which no opener can match it: keeps the search linear.
  const bottoms = new Map();
  let closer = first;
  while (closer) {
    if (!closer.canClose) {
      closer = closer.dnext;
      continue;
    }
    const key = `${closer.delim}${closer.canOpen ? 1 : 0}${closer.orig % 3}`;
    const bottom = bottoms.get(key) ?? null;
    let opener = closer.dprev;
    while (opener && opener !== bottom) {
      if (opener.delim === closer.delim && opener.canOpen) {
        const oddMatch = (opener.canClose || closer.canOpen) && (opener.orig + closer.orig) % 3 === 0 &&
          !(opener.orig % 3 === 0 && closer.orig % 3 === 0);
        if (!oddMatch) break;
      }
      opener = opener.dprev;
    }
    if (!opener || opener === bottom) {
      bottoms.set(key, closer.dprev);
      const next = closer.dnext;
      if (!closer.canOpen) unlinkDelim(closer);
      closer = next;
      continue;
    }
    const use = opener.count >= 2 && closer.count >= 2 ? 2 : 1;
    const inner = collect(opener.next, closer);
    // Too deep: keep the content, drop the emphasis.
    const wrapped = inner.nest + 1 <= MAX_INLINE_NEST
      ? { nodes: [{ type: use === 2 ? "strong" : "em", children: inner.nodes }], nest: inner.nest + 1 }
      : { nodes: inner.nodes, nest: inner.nest };
    const item = { delim: null, ...wrapped, prev: opener, next: closer };
    opener.next = item;
    closer.prev = item;
    opener.dnext = closer; // the delimiters in between are now literal text inside `item`
    closer.dprev = opener;
    opener.count -= use;
    closer.count -= use;
    if (opener.count === 0) {
      unlinkItem(opener);
      unlinkDelim(opener);
    }
    if (closer.count === 0) {
      const next = closer.dnext;
      unlinkItem(closer);
      unlinkDelim(closer);
      closer = next;
    }
  }
}

/** Nodes of the items from `item` up to (not including) `stop`, adjacent text merged, with their nesting. */
function collect(item, stop) {
  const nodes = [];
  let nest = 0;
  const add = (node) => {
    if (node.type === "text") {
      if (!node.text) return;
      const prev = nodes[nodes.length - 1];
      if (prev && prev.type === "text") {
        nodes[nodes.length - 1] = { type: "text", text: prev.text + node.text };
        return;
      }
    }
    nodes.push(node);
  };
  for (; item && item !== stop; item = item.next) {
    if (item.delim) add({ type: "text", text: item.delim.repeat(item.count) });
    else {
      item.nodes.forEach(add);
      nest = Math.max(nest, item.nest);
    }
  }
  return { nodes, nest };
}

// ---------------------------------------------------------------------------------------------------------
// DOM
// ---------------------------------------------------------------------------------------------------------

/**
 * Append the blocks to `container` as DOM built with createElement/createTextNode/textContent only.
 * URLs are checked again here, so a tree from anywhere renders safely. Links open in a new tab with
 * rel="noopener noreferrer nofollow". Unknown node types are skipped.
 * @param {Document} document
 * @param {Element} container
 * @param {object[]} blocks from parseMarkdown
 * @returns {Element} container
 */
export function renderTo(document, container, blocks) {
  for (const block of Array.isArray(blocks) ? blocks : []) {
    const element = renderBlock(document, block);
    if (element) container.appendChild(element);
  }
  return container;
}

function renderBlock(doc, block) {
  switch (block && block.type) {
    case "heading": {
      const level = Math.min(6, Math.max(1, Math.trunc(Number(block.level)) || 1));
      return renderInline(doc, doc.createElement(`h${level}`), block.children);
    }
    case "paragraph":
      return renderInline(doc, doc.createElement("p"), block.children);
    case "list": {
      const list = doc.createElement(block.ordered ? "ol" : "ul");
      for (const item of Array.isArray(block.items) ? block.items : []) list.appendChild(renderInline(doc, doc.createElement("li"), item));
      return list;
    }
    case "code": {
      const pre = doc.createElement("pre");
      const code = doc.createElement("code");
      code.textContent = String(block.text ?? "");
      pre.appendChild(code);
      return pre;
    }
    case "quote":
      return renderTo(doc, doc.createElement("blockquote"), block.children);
    case "rule":
      return doc.createElement("hr");
    default:
      return null;
  }
}

function renderInline(doc, parent, nodes) {
  const text = (value) => parent.appendChild(doc.createTextNode(String(value ?? "")));
  for (const node of Array.isArray(nodes) ? nodes : []) {
    switch (node && node.type) {
      case "text":
        text(node.text);
        break;
      case "strong":
      case "em":
        parent.appendChild(renderInline(doc, doc.createElement(node.type), node.children));
        break;
      case "code": {
        const code = doc.createElement("code");
        code.textContent = String(node.text ?? "");
        parent.appendChild(code);
        break;
      }
      case "link": {
        const href = safeUrl(node.href);
        if (!href) {
          text(plainText(node.children));
          break;
        }
        const a = doc.createElement("a");
        a.setAttribute("href", href);
        a.setAttribute("rel", "noopener noreferrer nofollow");
        a.setAttribute("target", "_blank");
        parent.appendChild(renderInline(doc, a, node.children));
        break;
      }
      case "image": {
        const src = safeUrl(node.src, { image: true });
        if (!src) {
          text(node.alt);
          break;
        }
        const img = doc.createElement("img");
        img.setAttribute("src", src);
        img.setAttribute("alt", String(node.alt ?? ""));
        img.setAttribute("loading", "lazy");
        img.setAttribute("referrerpolicy", "no-referrer");
        parent.appendChild(img);
        break;
      }
      case "br":
        parent.appendChild(doc.createElement("br"));
        break;
      default:
        break;
    }
  }
  return parent;
}
