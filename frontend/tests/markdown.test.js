import { test } from "node:test";
import assert from "node:assert/strict";
import { parseMarkdown, plainText, renderTo, safeUrl } from "../static/js/lib/markdown.js";

const text = (t) => ({ type: "text", text: t });
const para = (...children) => ({ type: "paragraph", children });
const inline = (source) => {
  const blocks = parseMarkdown(source);
  assert.equal(blocks.length, 1, `one block from ${JSON.stringify(source)}`);
  assert.equal(blocks[0].type, "paragraph");
  return blocks[0].children;
};

const BLOCK_TYPES = new Set(["heading", "paragraph", "list", "code", "quote", "rule"]);
const INLINE_TYPES = new Set(["text", "strong", "em", "code", "link", "image", "br"]);
const SAFE_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);

/** Every node in the tree, checking that only known types with known keys appear. */
function walk(blocks) {
  const nodes = [];
  const visitInline = (list) => {
    for (const node of list) {
      assert.ok(INLINE_TYPES.has(node.type), `unknown inline ${node.type}`);
      nodes.push(node);
      if (node.children) visitInline(node.children);
    }
  };
  const visitBlocks = (list) => {
    for (const block of list) {
      assert.ok(BLOCK_TYPES.has(block.type), `unknown block ${block.type}`);
      nodes.push(block);
      if (block.type === "quote") visitBlocks(block.children);
      else if (block.type === "list") block.items.forEach(visitInline);
      else if (block.children) visitInline(block.children);
    }
  };
  visitBlocks(blocks);
  return nodes;
}

/** What a browser would resolve the URL to on an https page. */
const resolved = (url) => new URL(url, "https://annotator.example/projects/1/label");

function assertNoUnsafeNode(source) {
  for (const node of walk(parseMarkdown(source))) {
    if (node.type === "link") {
      assert.ok(SAFE_PROTOCOLS.has(resolved(node.href).protocol), `unsafe href ${node.href} from ${source}`);
    }
    if (node.type === "image") {
      const url = resolved(node.src);
      assert.ok(url.protocol === "https:" || url.protocol === "http:", `unsafe src ${node.src} from ${source}`);
      assert.ok(!/^data:/i.test(node.src));
    }
  }
}

// A document just big enough for renderTo: elements record tag, attributes, children and textContent,
// and every HTML-parsing entry point throws.
function fakeDocument() {
  const forbidden = () => {
    throw new Error("HTML parsing used");
  };
  const html = { set: forbidden, get: forbidden };
  const doc = {
    createElement(tagName) {
      const element = {
        tagName: tagName.toUpperCase(),
        attributes: {},
        children: [],
        textContent: "",
        setAttribute(name, value) {
          this.attributes[name] = String(value);
        },
        appendChild(child) {
          this.children.push(child);
          return child;
        },
        insertAdjacentHTML: forbidden,
      };
      Object.defineProperty(element, "innerHTML", html);
      Object.defineProperty(element, "outerHTML", html);
      return element;
    },
    createTextNode(data) {
      return { nodeType: 3, textContent: String(data) };
    },
  };
  return doc;
}

/** All elements below `root` in document order (text nodes excluded). */
function elements(root) {
  const out = [];
  const stack = [...root.children].reverse();
  while (stack.length) {
    const node = stack.pop();
    if (node.nodeType === 3) continue;
    out.push(node);
    for (let k = node.children.length - 1; k >= 0; k--) stack.push(node.children[k]);
  }
  return out;
}

function textOf(node) {
  return node.nodeType === 3 ? node.textContent : node.textContent + node.children.map(textOf).join("");
}

// ---------------------------------------------------------------------------------------------------------
// Blocks
// ---------------------------------------------------------------------------------------------------------

test("ATX headings of levels 1 to 6 lose their closing hashes", () => {
  const blocks = parseMarkdown("# One\n## Two ##\n### Three\n#### Four\n##### Five\n###### Six");
  assert.deepEqual(blocks.map((b) => [b.type, b.level, plainText(b.children)]), [
    ["heading", 1, "One"], ["heading", 2, "Two"], ["heading", 3, "Three"],
    ["heading", 4, "Four"], ["heading", 5, "Five"], ["heading", 6, "Six"],
  ]);
});

test("a hash without a space or seven hashes is a paragraph, not a heading", () => {
  assert.deepEqual(parseMarkdown("#hashtag"), [para(text("#hashtag"))]);
  assert.deepEqual(parseMarkdown("####### seven"), [para(text("####### seven"))]);
  assert.deepEqual(parseMarkdown("## C#"), [{ type: "heading", level: 2, children: [text("C#")] }]);
});

test("blank lines separate paragraphs and single newlines join lines with a space", () => {
  assert.deepEqual(parseMarkdown("first line\nsame paragraph\n\n\nsecond"), [
    para(text("first line same paragraph")),
    para(text("second")),
  ]);
});

test("two trailing spaces or a trailing backslash make a line break", () => {
  assert.deepEqual(inline("one  \ntwo\\\nthree"), [text("one"), { type: "br" }, text("two"), { type: "br" }, text("three")]);
  assert.deepEqual(inline("end with spaces  "), [text("end with spaces")]);
});

test("-, * and + make bullet lists and the next paragraph ends them", () => {
  for (const bullet of ["-", "*", "+"]) {
    assert.deepEqual(parseMarkdown(`${bullet} apple\n${bullet} **pear**\n\nafter`), [
      { type: "list", ordered: false, items: [[text("apple")], [{ type: "strong", children: [text("pear")] }]] },
      para(text("after")),
    ]);
  }
});

test("numbered lists are ordered and a change of kind starts a new list", () => {
  assert.deepEqual(parseMarkdown("1. one\n2. two\n3) three\n- bullet"), [
    { type: "list", ordered: true, items: [[text("one")], [text("two")], [text("three")]] },
    { type: "list", ordered: false, items: [[text("bullet")]] },
  ]);
});

test("nested list items are flattened into the list and continuation lines join their item", () => {
  assert.deepEqual(parseMarkdown("- a\n  - a.1\n    1. a.1.i\n- b\n  more of b\n\n- c after a blank"), [
    { type: "list", ordered: false, items: [[text("a")], [text("a.1")], [text("a.1.i")], [text("b more of b")], [text("c after a blank")]] },
  ]);
  assert.deepEqual(parseMarkdown("-\n  starts on the next line"), [{ type: "list", ordered: false, items: [[text("starts on the next line")]] }]);
});

test("an indented paragraph after a blank line stays in its item after a line break", () => {
  assert.deepEqual(parseMarkdown("1. Draw the box\n\n   tight around the bird\n2. Pick the label"), [
    { type: "list", ordered: true, items: [[text("Draw the box"), { type: "br" }, text("tight around the bird")], [text("Pick the label")]] },
  ]);
});

test("a list interrupts a paragraph, but a number other than 1 does not", () => {
  assert.deepEqual(parseMarkdown("Steps:\n- one"), [para(text("Steps:")), { type: "list", ordered: false, items: [[text("one")]] }]);
  assert.deepEqual(parseMarkdown("In\n2024. it rained"), [para(text("In 2024. it rained"))]);
});

test("fenced code keeps its text literally, Markdown and HTML included", () => {
  assert.deepEqual(parseMarkdown("```html\n<b>**not bold**</b>\n\n  indented\n```\nafter"), [
    { type: "code", text: "<b>**not bold**</b>\n\n  indented" },
    para(text("after")),
  ]);
  assert.deepEqual(parseMarkdown("~~~\ntilde\n~~~"), [{ type: "code", text: "tilde" }]);
  assert.deepEqual(parseMarkdown("```\nnever closed\n# still code"), [{ type: "code", text: "never closed\n# still code" }]);
});

test("lines indented by four spaces or a tab are code", () => {
  assert.deepEqual(parseMarkdown("text\n\n    x = 1\n\n\tif x:\n\n after"), [
    para(text("text")),
    { type: "code", text: "x = 1\n\nif x:" },
    para(text("after")),
  ]);
  // Inside a paragraph an indented line just continues it.
  assert.deepEqual(parseMarkdown("text\n    more"), [para(text("text more"))]);
});

test("> quotes hold blocks, continue lazily and nest", () => {
  assert.deepEqual(parseMarkdown("> # Note\n> Be *careful*\nabout this.\n>\n> > inner\n\nout"), [
    { type: "quote", children: [
      { type: "heading", level: 1, children: [text("Note")] },
      para(text("Be "), { type: "em", children: [text("careful")] }, text(" about this.")),
      { type: "quote", children: [para(text("inner"))] },
    ] },
    para(text("out")),
  ]);
});

test("---, *** and * * * are rules", () => {
  assert.deepEqual(parseMarkdown("a\n\n---\n***\n* * *\n___\nb"), [
    para(text("a")), { type: "rule" }, { type: "rule" }, { type: "rule" }, { type: "rule" }, para(text("b")),
  ]);
});

test("empty, missing and Windows line-ended sources parse", () => {
  assert.deepEqual(parseMarkdown(""), []);
  assert.deepEqual(parseMarkdown(null), []);
  assert.deepEqual(parseMarkdown(undefined), []);
  assert.deepEqual(parseMarkdown("\n \n\t\n"), []);
  assert.deepEqual(parseMarkdown("# A\r\nb\r\nc"), [{ type: "heading", level: 1, children: [text("A")] }, para(text("b c"))]);
});

// ---------------------------------------------------------------------------------------------------------
// Inlines
// ---------------------------------------------------------------------------------------------------------

test("** and __ make strong, * and _ make emphasis", () => {
  assert.deepEqual(inline("**a** __b__ *c* _d_"), [
    { type: "strong", children: [text("a")] }, text(" "),
    { type: "strong", children: [text("b")] }, text(" "),
    { type: "em", children: [text("c")] }, text(" "),
    { type: "em", children: [text("d")] },
  ]);
});

test("emphasis nests and triple stars make both", () => {
  assert.deepEqual(inline("*a **b** c*"), [{ type: "em", children: [text("a "), { type: "strong", children: [text("b")] }, text(" c")] }]);
  assert.deepEqual(inline("***both***"), [{ type: "em", children: [{ type: "strong", children: [text("both")] }] }]);
});

test("underscores inside words, lone stars and unmatched delimiters stay literal", () => {
  assert.deepEqual(inline("snake_case_name"), [text("snake_case_name")]);
  assert.deepEqual(inline("2 * 3 * 4"), [text("2 * 3 * 4")]);
  assert.deepEqual(inline("**unclosed and *also"), [text("**unclosed and *also")]);
});

test("backticks make inline code whose content is not parsed", () => {
  assert.deepEqual(inline("run `rm **x** <b>` now"), [text("run "), { type: "code", text: "rm **x** <b>" }, text(" now")]);
  assert.deepEqual(inline("`` a `tick` ``"), [{ type: "code", text: "a `tick`" }]);
  assert.deepEqual(inline("a ` lone"), [text("a ` lone")]);
});

test("backslash escapes make punctuation literal", () => {
  assert.deepEqual(inline("\\*not em\\* \\[not link](x) \\\\ \\a"), [text("*not em* [not link](x) \\ \\a")]);
});

test("links carry their href and formatted label", () => {
  assert.deepEqual(inline("see [the **guide**](https://example.com/guide) now"), [
    text("see "),
    { type: "link", href: "https://example.com/guide", children: [text("the "), { type: "strong", children: [text("guide")] }] },
    text(" now"),
  ]);
  assert.deepEqual(inline('[t](/docs/a_(b) "Title")'), [{ type: "link", href: "/docs/a_(b)", children: [text("t")] }]);
  assert.deepEqual(inline("[t](<#part two>)"), [{ type: "link", href: "#part two", children: [text("t")] }]);
  assert.deepEqual(inline("[mail](mailto:owner@example.com)"), [{ type: "link", href: "mailto:owner@example.com", children: [text("mail")] }]);
});

test("brackets that are not followed by a destination stay literal", () => {
  assert.deepEqual(inline("[x] and [y] (z) and [unclosed"), [text("[x] and [y] (z) and [unclosed")]);
});

test("images carry a src and a plain-text alt", () => {
  assert.deepEqual(inline("![a *bird*](https://cdn.example.com/b.png) ![local](/media/3/a.jpg)"), [
    { type: "image", src: "https://cdn.example.com/b.png", alt: "a bird" },
    text(" "),
    { type: "image", src: "/media/3/a.jpg", alt: "local" },
  ]);
  assert.deepEqual(inline("[![logo](/media/logo.png)](https://example.com)"), [
    { type: "link", href: "https://example.com", children: [{ type: "image", src: "/media/logo.png", alt: "logo" }] },
  ]);
});

test("autolinks in angle brackets become links showing their address", () => {
  assert.deepEqual(inline("<https://example.com/a?b=1> or <help@example.com>"), [
    { type: "link", href: "https://example.com/a?b=1", children: [text("https://example.com/a?b=1")] },
    text(" or "),
    { type: "link", href: "mailto:help@example.com", children: [text("help@example.com")] },
  ]);
});

test("Chinese text, punctuation and emphasis next to it parse", () => {
  assert.deepEqual(parseMarkdown("# 标注说明\n\n请框出**每一只**鸟。**注意：**不要框*影子*。"), [
    { type: "heading", level: 1, children: [text("标注说明")] },
    para(text("请框出"), { type: "strong", children: [text("每一只")] }, text("鸟。"),
      { type: "strong", children: [text("注意：")] }, text("不要框"), { type: "em", children: [text("影子")] }, text("。")),
  ]);
  assert.deepEqual(parseMarkdown("- 黄林莺\n- 林莺 [图](/media/1.png)"), [
    { type: "list", ordered: false, items: [[text("黄林莺")], [text("林莺 "), { type: "link", href: "/media/1.png", children: [text("图")] }]] },
  ]);
});

// ---------------------------------------------------------------------------------------------------------
// Safety
// ---------------------------------------------------------------------------------------------------------

test("raw HTML stays literal text", () => {
  assert.deepEqual(parseMarkdown("<script>alert(1)</script>"), [para(text("<script>alert(1)</script>"))]);
  assert.deepEqual(parseMarkdown('<img src=x onerror=alert(1)>'), [para(text("<img src=x onerror=alert(1)>"))]);
  assert.deepEqual(inline('a <b onmouseover="alert(1)">b</b> <!-- c --> <iframe src="javascript:alert(1)">'),
    [text('a <b onmouseover="alert(1)">b</b> <!-- c --> <iframe src="javascript:alert(1)">')]);
});

test("safeUrl allows http, https, mailto and relative links", () => {
  for (const url of ["https://example.com/x", "HTTP://example.com", "mailto:a@b.cn", "/projects/1", "#step-2",
    "#a:b", "?page=2", "guide.html", "./a/b", "../up", "docs/a:b"]) {
    assert.equal(safeUrl(url), url, url);
  }
  assert.equal(safeUrl("  https://example.com/a\n"), "https://example.com/a");
});

test("safeUrl refuses script and other schemes however they are spelled", () => {
  const bad = [
    "javascript:alert(1)", "JAVASCRIPT:alert(1)", " JavaScript:alert(1)", "java\tscript:alert(1)",
    "java\nscript:alert(1)", "java\rscript:alert(1)", "\x00javascript:alert(1)", "java\x00script:alert(1)",
    "\u0001javascript:alert(1)", "javascript\t:alert(1)", "java script:alert(1)", "java\u00a0script:alert(1)",
    "jav&#x61;script:alert(1)", "&#106;avascript:alert(1)", "javascript:alert(1)//https://x",
    "vbscript:msgbox(1)", "VBScript:x", "data:text/html,<script>alert(1)</script>", "DATA:text/html;base64,PHNjcmlwdD4=",
    "file:///etc/passwd", "blob:https://x/1", "ftp://example.com", "tel:123", "chrome://settings", "weird:thing",
    "//evil.example/x", "/\\evil.example", "\\\\evil.example", "\\/evil.example", " //evil.example", "", "   ", null, undefined, 42,
  ];
  for (const url of bad) assert.equal(safeUrl(url), null, JSON.stringify(url));
});

test("safeUrl allows only http(s) and /media/ images", () => {
  for (const url of ["https://cdn.example.com/a.png", "http://x.cn/b.jpg", "/media/12/a.png"]) {
    assert.equal(safeUrl(url, { image: true }), url);
  }
  for (const url of ["data:image/png;base64,AAAA", "data:image/svg+xml,<svg onload=alert(1)>", "javascript:alert(1)",
    "mailto:a@b.c", "/api/projects", "media/a.png", "/media/../api/x", "/media/%2e%2e/api", "//cdn.example.com/a.png", "a.png"]) {
    assert.equal(safeUrl(url, { image: true }), null, url);
  }
});

test("a link or image with an unsafe URL becomes its label as text", () => {
  assert.deepEqual(inline("[click **me**](javascript:alert(1))"), [text("click me")]);
  assert.deepEqual(inline("![tracking pixel](data:image/gif;base64,R0lGOD)"), [text("tracking pixel")]);
  assert.deepEqual(inline("<javascript:alert(1)>"), [text("javascript:alert(1)")]);
  assert.deepEqual(inline("[x](//evil.example)"), [text("x")]);
});

test("XSS payloads never produce a script link, a data image or an unknown node", () => {
  const payloads = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x]( javascript:alert(1) )",
    "[x](<javascript:alert(1)>)",
    "[x](<java script:alert(1)>)",
    "[x](java\tscript:alert(1))",
    "[x](jav&#x61;script:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](%6Aavascript:alert(1))",
    "[x](\\javascript:alert(1))",
    "[x](java\\script:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](file:///etc/passwd)",
    '[x](https://ok.example "t" onclick="alert(1)")',
    '[x](https://ok.example" onmouseover="alert(1))',
    "<javascript:alert(1)>",
    "<JAVASCRIPT:alert(1)>",
    "<vbscript:msgbox(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](DATA:image/png;base64,AAAA)",
    '![x" onerror="alert(1)](https://ok.example/a.png)',
    "![x](https://ok.example/a.png\" onerror=\"alert(1))",
    "[![x](javascript:alert(1))](javascript:alert(1))",
    "[a [b](javascript:alert(1)) c](https://ok.example)",
    "> [x](javascript:alert(1))\n- [y](javascript:alert(1))\n# [z](javascript:alert(1))",
  ];
  for (const payload of payloads) assertNoUnsafeNode(payload);
});

test("hostile inputs parse quickly into shallow trees", () => {
  const sources = [
    "> ".repeat(5000) + "deep",
    "*a ".repeat(5000),
    "**a ".repeat(5000),
    "*".repeat(5000) + "a" + "*".repeat(5000),
    "[".repeat(5000) + "]".repeat(5000),
    "[a](".repeat(5000),
    "![".repeat(3000) + "x" + "](/media/a.png)".repeat(3000),
    "`".repeat(3000) + " `` ".repeat(3000),
    "*a _b ".repeat(3000) + "c_ a* ".repeat(3000),
    "<a:".repeat(5000),
  ];
  for (const source of sources) {
    const blocks = parseMarkdown(source);
    assert.ok(JSON.stringify(blocks).length > 0); // serialising a tree too deep would throw
    walk(blocks);
  }
});

// ---------------------------------------------------------------------------------------------------------
// DOM
// ---------------------------------------------------------------------------------------------------------

test("renderTo turns an <img onerror> payload into text only", () => {
  const doc = fakeDocument();
  const root = doc.createElement("div");
  renderTo(doc, root, parseMarkdown("<img src=x onerror=alert(1)>"));
  assert.deepEqual(elements(root).map((e) => e.tagName), ["P"]);
  const [p] = root.children;
  assert.deepEqual(p.children, [{ nodeType: 3, textContent: "<img src=x onerror=alert(1)>" }]);
  assert.ok(!elements(root).some((e) => e.tagName === "IMG" || Object.keys(e.attributes).some((a) => /^on/i.test(a))));
});

test("renderTo builds the elements for every construct", () => {
  const doc = fakeDocument();
  const root = doc.createElement("div");
  const source = [
    "# Title", "para **b** *i* `c` [l](https://x.example) ![a](/media/1.png)  ", "next",
    "- one", "1. first", "> quoted", "```", "<b>code</b>", "```", "---",
  ].join("\n");
  assert.equal(renderTo(doc, root, parseMarkdown(source)), root);
  assert.deepEqual(root.children.map((e) => e.tagName), ["H1", "P", "UL", "OL", "BLOCKQUOTE", "PRE", "HR"]);
  assert.deepEqual(elements(root.children[1]).map((e) => e.tagName).sort(), ["A", "BR", "CODE", "EM", "IMG", "STRONG"]);
  const a = elements(root).find((e) => e.tagName === "A");
  assert.deepEqual(a.attributes, { href: "https://x.example", rel: "noopener noreferrer nofollow", target: "_blank" });
  const img = elements(root).find((e) => e.tagName === "IMG");
  assert.equal(img.attributes.src, "/media/1.png");
  assert.equal(img.attributes.alt, "a");
  const pre = root.children[5];
  assert.equal(pre.children[0].tagName, "CODE");
  assert.equal(pre.children[0].textContent, "<b>code</b>");
  assert.equal(textOf(root.children[4]), "quoted");
});

test("renderTo re-checks URLs in a tree that did not come from parseMarkdown", () => {
  const doc = fakeDocument();
  const root = doc.createElement("div");
  renderTo(doc, root, [
    para({ type: "link", href: "javascript:alert(1)", children: [text("x")] }, { type: "image", src: "data:image/png,AA", alt: "y" }),
    { type: "heading", level: 99, children: [text("h")] },
    { type: "script", text: "alert(1)" },
    { type: "html", html: "<b>x</b>" },
  ]);
  assert.deepEqual(elements(root).map((e) => e.tagName), ["P", "H6"]);
  assert.equal(textOf(root.children[0]), "xy");
});

test("renderTo renders every XSS payload without unsafe elements or attributes", () => {
  const allowed = new Set(["href", "rel", "target", "src", "alt", "loading", "referrerpolicy"]);
  const doc = fakeDocument();
  const root = doc.createElement("div");
  renderTo(doc, root, parseMarkdown([
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))",
    "![y](data:image/svg+xml,<svg onload=alert(1)>)", "<iframe src=javascript:alert(1)>", "[ok](https://ok.example)",
  ].join("\n\n")));
  for (const element of elements(root)) {
    assert.ok(["P", "A"].includes(element.tagName), element.tagName);
    for (const [name, value] of Object.entries(element.attributes)) {
      assert.ok(allowed.has(name), name);
      if (name === "href") assert.equal(value, "https://ok.example");
    }
  }
});
