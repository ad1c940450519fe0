// Markdown for project instructions, which project owners write and annotators read, so it is untrusted.
// markdown-it (CommonMark, raw HTML off: it stays text) turns the source into HTML whose links and images
// are checked by safeUrl; DOMPurify then keeps only the elements and attributes that HTML may hold before
// any of it reaches the page. markdownToHtml is free of the DOM so node can test it; renderMarkdown needs one.
import MarkdownIt from "../../vendor/markdown-it-15.0.3/markdown-it.esm.min.mjs";
import cjkFriendly from "../../vendor/markdown-it-cjk-friendly-3.0.0/index.js";
import DOMPurify from "../../vendor/dompurify-3.5.0/purify.es.mjs";

/** Longer link destinations are not links. */
const MAX_URL_LENGTH = 2048;
const LINK_SCHEMES = new Set(["http", "https", "mailto"]);
const IMAGE_SCHEMES = new Set(["http", "https"]);
const LINK_REL = "noopener noreferrer nofollow";

/** What markdownToHtml may produce, and so all that renderMarkdown lets through. */
export const ALLOWED_TAGS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "ul", "ol", "li", "blockquote",
  "pre", "code", "em", "strong", "a", "img"];
export const ALLOWED_ATTR = ["href", "title", "rel", "target", "src", "alt", "loading", "referrerpolicy", "start"];

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
// Markdown to HTML (no DOM)
// ---------------------------------------------------------------------------------------------------------

function createParser() {
  // CommonMark with raw HTML as text, no typography, no bare-URL links; emphasis next to Chinese punctuation
  // ("**注意：**请") works, which CommonMark alone refuses.
  const md = new MarkdownIt("commonmark", { html: false, linkify: false, typographer: false });
  md.use(cjkFriendly);
  // A link or image whose destination is refused stays the text it was written as (an image that only a
  // link could point to becomes its alt text: see checkInline).
  md.validateLink = (url) => safeUrl(url) !== null;
  md.core.ruler.push("allowed_output", (state) => {
    for (const block of state.tokens) {
      if (block.type === "fence") block.info = ""; // no class="language-..." on the code
      if (block.children) block.children = block.children.map((token) => checkInline(token, state));
    }
  });
  return md;
}

/** A link opens in a new tab without our address; an image only from where images may come, else its alt. */
function checkInline(token, state) {
  if (token.type === "link_open") {
    token.attrSet("rel", LINK_REL);
    token.attrSet("target", "_blank");
  } else if (token.type === "image") {
    if (safeUrl(token.attrGet("src"), { image: true }) === null) return altText(token, state);
    token.attrSet("loading", "lazy");
    token.attrSet("referrerpolicy", "no-referrer");
  }
  return token;
}

function altText(image, state) {
  const text = new state.Token("text", "", 0);
  text.content = state.md.renderer.renderInlineAsText(image.children || [], state.md.options, state.env);
  return text;
}

const parser = createParser();

/**
 * The Markdown as HTML: only ALLOWED_TAGS with ALLOWED_ATTR, text escaped, every href and src passed by
 * safeUrl (images with image: true). Empty for null, undefined or "".
 * @param {string|null|undefined} source
 * @returns {string}
 */
export function markdownToHtml(source) {
  if (source === null || source === undefined) return "";
  return parser.render(String(source));
}

// ---------------------------------------------------------------------------------------------------------
// HTML to DOM
// ---------------------------------------------------------------------------------------------------------

// Our URL rule and rel/target on links, in DOMPurify's default instance (without a DOM, as in node, it has
// no sanitize and no hooks: renderMarkdown then throws rather than show anything unsanitised).
if (DOMPurify.isSupported) {
  DOMPurify.addHook("uponSanitizeAttribute", (node, data) => {
    if (data.attrName === "href") data.keepAttr = safeUrl(data.attrValue) !== null;
    if (data.attrName === "src") data.keepAttr = safeUrl(data.attrValue, { image: true }) !== null;
  });
  DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName !== "A") return;
    node.setAttribute("rel", LINK_REL);
    node.setAttribute("target", "_blank");
  });
}

/**
 * Show the Markdown in `container`, replacing what it held: markdownToHtml's output, sanitised by DOMPurify
 * into a fragment (never assigned to innerHTML), so a bug in either one alone lets no script through.
 * @param {Element} container
 * @param {string|null|undefined} source
 * @returns {Element} container
 */
export function renderMarkdown(container, source) {
  const fragment = DOMPurify.sanitize(markdownToHtml(source), {
    ALLOWED_TAGS, ALLOWED_ATTR, ALLOW_DATA_ATTR: false, ALLOW_ARIA_ATTR: false, RETURN_DOM_FRAGMENT: true,
  });
  container.replaceChildren(fragment);
  return container;
}
