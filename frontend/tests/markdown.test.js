// The Markdown of project instructions as HTML, without a DOM. renderMarkdown (DOMPurify over this HTML)
// needs a browser: tests/e2e checks it on the label page and in the project form's preview.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ALLOWED_ATTR, ALLOWED_TAGS, markdownToHtml, safeUrl } from "../static/js/lib/markdown.js";

const SAFE_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);
const TAGS = new Set(ALLOWED_TAGS);
const ATTRIBUTES = new Set(ALLOWED_ATTR);

/**
 * The output as a list of tags ({tag, closing, attrs}) and text strings. markdown-it escapes <, >, & and " in
 * text and attribute values, so every "<" starts a tag and "&lt;" is all a "<" in the source can become.
 */
function parts(html) {
  const out = [];
  for (const piece of html.split(/(<[^>]*>)/)) {
    if (!piece) continue;
    if (!piece.startsWith("<")) {
      assert.ok(!piece.includes(">"), `a stray ">" in ${JSON.stringify(piece)}`);
      out.push(unescape(piece));
      continue;
    }
    const m = /^<(\/?)([a-z][a-z0-9]*)((?:\s+[a-z-]+="[^"]*")*)\s*\/?>$/.exec(piece);
    assert.ok(m, `not a plain tag: ${piece}`);
    const attrs = {};
    for (const [, name, value] of m[3].matchAll(/([a-z-]+)="([^"]*)"/g)) attrs[name] = unescape(value);
    out.push({ tag: m[2], closing: m[1] === "/", attrs });
  }
  return out;
}

function unescape(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&amp;/g, "&");
}

const tags = (source) => parts(markdownToHtml(source)).filter((p) => typeof p !== "string" && !p.closing);
const tagNames = (source) => tags(source).map((p) => p.tag);
const textOf = (source) => parts(markdownToHtml(source)).filter((p) => typeof p === "string").join("");
/** What a browser would resolve the URL to on an https page. */
const resolved = (url) => new URL(url, "https://annotator.example/projects/1/label");

/** Only allowed tags and attributes, and every href and src one the browser resolves to a safe place. */
function assertSafe(source) {
  for (const { tag, attrs } of tags(source)) {
    assert.ok(TAGS.has(tag), `<${tag}> from ${source}`);
    for (const [name, value] of Object.entries(attrs)) {
      assert.ok(ATTRIBUTES.has(name), `${name} on <${tag}> from ${source}`);
      if (name === "href") {
        assert.equal(safeUrl(value), value, `href ${value} from ${source}`);
        assert.ok(SAFE_PROTOCOLS.has(resolved(value).protocol), `href ${value} from ${source}`);
      }
      if (name === "src") {
        assert.equal(safeUrl(value, { image: true }), value, `src ${value} from ${source}`);
        assert.ok(["http:", "https:"].includes(resolved(value).protocol), `src ${value} from ${source}`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Blocks
// ---------------------------------------------------------------------------------------------------------

test("ATX headings of levels 1 to 6 lose their closing hashes", () => {
  assert.equal(markdownToHtml("# One\n## Two ##\n###### Six"), "<h1>One</h1>\n<h2>Two</h2>\n<h6>Six</h6>\n");
});

test("a hash without a space or seven hashes is a paragraph, not a heading", () => {
  assert.equal(markdownToHtml("#hashtag"), "<p>#hashtag</p>\n");
  assert.equal(markdownToHtml("####### seven"), "<p>####### seven</p>\n");
  assert.equal(markdownToHtml("## C#"), "<h2>C#</h2>\n");
});

test("blank lines separate paragraphs and a single newline stays inside one", () => {
  assert.equal(markdownToHtml("first line\nsame paragraph\n\n\nsecond"), "<p>first line\nsame paragraph</p>\n<p>second</p>\n");
});

test("two trailing spaces or a trailing backslash make a line break", () => {
  assert.equal(markdownToHtml("one  \ntwo\\\nthree"), "<p>one<br />\ntwo<br />\nthree</p>\n");
  assert.equal(markdownToHtml("end with spaces  "), "<p>end with spaces</p>\n");
});

test("-, * and + make bullet lists and the next paragraph ends them", () => {
  for (const bullet of ["-", "*", "+"]) {
    assert.equal(markdownToHtml(`${bullet} apple\n${bullet} **pear**\n\nafter`),
      "<ul>\n<li>apple</li>\n<li><strong>pear</strong></li>\n</ul>\n<p>after</p>\n");
  }
});

test("numbered lists are ordered, keep their first number, and a change of kind starts a new list", () => {
  assert.deepEqual(tagNames("1. one\n2. two\n- bullet"), ["ol", "li", "li", "ul", "li"]);
  assert.deepEqual(tags("3. three\n4. four")[0], { tag: "ol", closing: false, attrs: { start: "3" } });
});

test("nested list items nest and an indented paragraph stays in its item", () => {
  assert.deepEqual(tagNames("- a\n  - a.1\n    1. a.1.i\n- b\n  more of b"), ["ul", "li", "ul", "li", "ol", "li", "li"]);
  assert.equal(textOf("1. Draw the box\n\n   tight around the bird\n2. Pick the label").replace(/\s+/g, " ").trim(),
    "Draw the box tight around the bird Pick the label");
  assert.deepEqual(tagNames("1. Draw the box\n\n   tight around the bird\n2. Pick the label"), ["ol", "li", "p", "p", "li", "p"]);
});

test("a list interrupts a paragraph, but a number other than 1 does not", () => {
  assert.deepEqual(tagNames("Steps:\n- one"), ["p", "ul", "li"]);
  assert.deepEqual(tagNames("In\n2024. it rained"), ["p"]);
});

test("fenced and indented code keep their text literally, Markdown and HTML included", () => {
  assert.equal(markdownToHtml("```html\n<b>**not bold**</b>\n\n  indented\n```\nafter"),
    "<pre><code>&lt;b&gt;**not bold**&lt;/b&gt;\n\n  indented\n</code></pre>\n<p>after</p>\n");
  assert.equal(markdownToHtml("~~~\ntilde\n~~~"), "<pre><code>tilde\n</code></pre>\n");
  assert.equal(markdownToHtml("text\n\n    x = 1\n\n after"), "<p>text</p>\n<pre><code>x = 1\n</code></pre>\n<p>after</p>\n");
  assert.deepEqual(tagNames("text\n    more"), ["p"]); // inside a paragraph an indented line just continues it
});

test("> quotes hold blocks, continue lazily and nest", () => {
  assert.deepEqual(tagNames("> # Note\n> Be *careful*\nabout this.\n>\n> > inner\n\nout"),
    ["blockquote", "h1", "p", "em", "blockquote", "p", "p"]);
  assert.equal(textOf("> Be careful\nabout this.").trim(), "Be careful\nabout this.");
});

test("---, *** and * * * are rules", () => {
  assert.deepEqual(tagNames("a\n\n---\n***\n* * *\n___\nb"), ["p", "hr", "hr", "hr", "hr", "p"]);
});

test("empty, missing and Windows line-ended sources render", () => {
  for (const empty of ["", null, undefined, "\n \n\t\n"]) assert.equal(markdownToHtml(empty), "");
  assert.equal(markdownToHtml("# A\r\nb\r\nc"), "<h1>A</h1>\n<p>b\nc</p>\n");
});

// ---------------------------------------------------------------------------------------------------------
// Inlines
// ---------------------------------------------------------------------------------------------------------

test("** and __ make strong, * and _ make emphasis, and they nest", () => {
  assert.equal(markdownToHtml("**a** __b__ *c* _d_"), "<p><strong>a</strong> <strong>b</strong> <em>c</em> <em>d</em></p>\n");
  assert.equal(markdownToHtml("*a **b** c*"), "<p><em>a <strong>b</strong> c</em></p>\n");
  assert.equal(markdownToHtml("***both***"), "<p><em><strong>both</strong></em></p>\n");
});

test("underscores inside words, lone stars and unmatched delimiters stay literal", () => {
  assert.equal(markdownToHtml("snake_case_name 2 * 3 * 4 **unclosed and *also"), "<p>snake_case_name 2 * 3 * 4 **unclosed and *also</p>\n");
});

test("backticks make inline code whose content is not parsed", () => {
  assert.equal(markdownToHtml("run `rm **x** <b>` now"), "<p>run <code>rm **x** &lt;b&gt;</code> now</p>\n");
  assert.equal(markdownToHtml("`` a `tick` ``"), "<p><code>a `tick`</code></p>\n");
  assert.equal(markdownToHtml("a ` lone"), "<p>a ` lone</p>\n");
});

test("backslash escapes make punctuation literal", () => {
  assert.equal(textOf("\\*not em\\* \\[not link](x) \\\\ \\a").trim(), "*not em* [not link](x) \\ \\a");
  assert.deepEqual(tagNames("\\*not em\\* \\[not link](x)"), ["p"]);
});

test("links carry their href and formatted label, and open in a new tab without a referrer", () => {
  const [, link, strong] = tags("see [the **guide**](https://example.com/guide) now");
  assert.deepEqual(link, { tag: "a", closing: false, attrs: {
    href: "https://example.com/guide", rel: "noopener noreferrer nofollow", target: "_blank" } });
  assert.equal(strong.tag, "strong");
  assert.equal(tags('[t](/docs/a_(b) "Title")')[1].attrs.href, "/docs/a_(b)");
  assert.equal(tags('[t](/docs/a_(b) "Title")')[1].attrs.title, "Title");
  assert.equal(tags("[t](<#part two>)")[1].attrs.href, "#part%20two");
  assert.equal(tags("[mail](mailto:owner@example.com)")[1].attrs.href, "mailto:owner@example.com");
  assert.equal(tags("[ref]\n\n[ref]: https://ok.example")[1].attrs.href, "https://ok.example");
});

test("brackets that are not followed by a destination stay literal", () => {
  assert.equal(markdownToHtml("[x] and [y] (z) and [unclosed"), "<p>[x] and [y] (z) and [unclosed</p>\n");
});

test("images carry a src, a plain-text alt, lazy loading and no referrer", () => {
  const [, bird, local] = tags("![a *bird*](https://cdn.example.com/b.png) ![local](/media/3/a.jpg)");
  assert.deepEqual(bird.attrs, { src: "https://cdn.example.com/b.png", alt: "a bird", loading: "lazy", referrerpolicy: "no-referrer" });
  assert.equal(local.attrs.src, "/media/3/a.jpg");
  assert.deepEqual(tagNames("[![logo](/media/logo.png)](https://example.com)"), ["p", "a", "img"]);
});

test("autolinks in angle brackets become links showing their address", () => {
  const html = markdownToHtml("<https://example.com/a?b=1> or <help@example.com>");
  assert.deepEqual(tags("<https://example.com/a?b=1> or <help@example.com>").map((p) => p.attrs.href),
    [undefined, "https://example.com/a?b=1", "mailto:help@example.com"]);
  assert.equal(textOf("<https://example.com/a?b=1> or <help@example.com>").trim(), "https://example.com/a?b=1 or help@example.com");
  assert.ok(!/linkify/.test(html));
  assert.deepEqual(tagNames("see https://example.com"), ["p"]); // bare addresses stay text
});

test("Chinese text, punctuation and emphasis next to it render", () => {
  assert.equal(markdownToHtml("# 标注说明\n\n请框出**每一只**鸟。**注意：**不要框*影子*。"),
    "<h1>标注说明</h1>\n<p>请框出<strong>每一只</strong>鸟。<strong>注意：</strong>不要框<em>影子</em>。</p>\n");
  assert.equal(markdownToHtml("- 黄林莺\n- 林莺 [图](/media/1.png)"),
    '<ul>\n<li>黄林莺</li>\n<li>林莺 <a href="/media/1.png" rel="noopener noreferrer nofollow" target="_blank">图</a></li>\n</ul>\n');
});

test("every construct renders with only the allowed tags and attributes", () => {
  const source = [
    "# Title", "para **b** *i* `c` [l](https://x.example \"t\") ![a](/media/1.png)  ", "next",
    "- one", "", "3. first", "> quoted", "```", "<b>code</b>", "```", "---",
  ].join("\n");
  assert.deepEqual(new Set(tagNames(source)), new Set(["h1", "p", "strong", "em", "code", "a", "img", "br", "ul", "li", "ol",
    "blockquote", "pre", "hr"]));
  assertSafe(source);
});

// ---------------------------------------------------------------------------------------------------------
// Safety
// ---------------------------------------------------------------------------------------------------------

test("raw HTML stays literal text", () => {
  for (const html of ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    'a <b onmouseover="alert(1)">b</b> <!-- c --> <iframe src="javascript:alert(1)">']) {
    assert.deepEqual(tagNames(html), ["p"], html);
    assert.equal(textOf(html).trim(), html);
  }
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

test("a link with an unsafe URL stays the text it was written as; an image only a link may show is its alt", () => {
  assert.equal(markdownToHtml("[click **me**](javascript:alert(1))"), "<p>[click <strong>me</strong>](javascript:alert(1))</p>\n");
  assert.equal(markdownToHtml("<javascript:alert(1)>"), "<p>&lt;javascript:alert(1)&gt;</p>\n");
  assert.equal(markdownToHtml("[x](//evil.example)"), "<p>[x](//evil.example)</p>\n");
  assert.equal(markdownToHtml("![tracking pixel](data:image/gif;base64,R0lGOD)"), "<p>![tracking pixel](data:image/gif;base64,R0lGOD)</p>\n");
  assert.equal(markdownToHtml("![the *API*](/api/projects) ![up](/media/../api)"), "<p>the API up</p>\n");
  assert.equal(markdownToHtml("[ref]\n\n[ref]: javascript:alert(1)"), "<p>[ref]</p>\n<p>[ref]: javascript:alert(1)</p>\n");
});

test("XSS payloads never produce a script link, a foreign image, an unknown tag or an attribute we did not allow", () => {
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
    "[x][r]\n\n[r]: javascript:alert(1)",
    '[x][r]\n\n[r]: https://ok.example "a" onclick="alert(1)"',
    "```\n</code></pre><script>alert(1)</script>\n```",
    "`</code><img src=x onerror=alert(1)>`",
  ];
  for (const payload of payloads) assertSafe(payload);
  assert.ok(!markdownToHtml(payloads.join("\n\n")).includes("<script"));
});

test("hostile inputs render quickly into HTML of allowed tags", () => {
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
    "- ".repeat(5000) + "deep",
  ];
  for (const source of sources) {
    const start = performance.now();
    assertSafe(source);
    assert.ok(performance.now() - start < 2000, `${source.slice(0, 20)}… took too long`);
  }
});
