/* Nimbus Home front ends: the DOM and request helpers the help-center page (help.js) and the
 * agents' console (agent.js) share. Loaded before either page script; exposes window.HelpdeskDom.
 *
 * Plain ES2020, no dependencies. Every piece of document or model text is inserted with
 * textContent / createTextNode; only http(s) or site-relative URLs become links.
 * (widget.js keeps its own copies: it must stay one self-contained file for third-party sites.)
 */
(() => {
  "use strict";

  /** The UI language the reader chose, remembered across both pages. */
  const LANG_STORAGE_KEY = "helpdesk.lang";

  const PRODUCT_NAMES = {
    "aura-speaker": { en: "Aura Speaker", ko: "아우라 스피커" },
    "lumo-cam": { en: "Lumo Cam", ko: "루모 캠" },
    "nimbus-hub": { en: "Nimbus Hub", ko: "님버스 허브" },
    "nimbus-care": { en: "Nimbus Care", ko: "님버스 케어" },
  };

  // ---------------------------------------------------------------- strings

  /** t(key, ...args) over {en: {...}, ko: {...}}: the current language, else English. */
  function makeTranslator(strings, currentLang) {
    return function t(key, ...args) {
      const table = strings[currentLang()] || strings.en;
      const value = key in table ? table[key] : strings.en[key];
      return typeof value === "function" ? value(...args) : value;
    };
  }

  /** Fills [data-i18n] text, [data-i18n-placeholder] and [data-i18n-aria-label] from t(). */
  function translatePage(t) {
    document.querySelectorAll("[data-i18n]").forEach((node) => {
      node.textContent = t(node.getAttribute("data-i18n"));
    });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((node) => {
      node.setAttribute("placeholder", t(node.getAttribute("data-i18n-placeholder")));
    });
    document.querySelectorAll("[data-i18n-aria-label]").forEach((node) => {
      node.setAttribute("aria-label", t(node.getAttribute("data-i18n-aria-label")));
    });
  }

  function initialLanguage() {
    let stored = null;
    try {
      stored = window.localStorage.getItem(LANG_STORAGE_KEY);
    } catch (_) {
      stored = null;
    }
    if (stored === "en" || stored === "ko") return stored;
    const nav = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
    return /^ko\b/i.test(nav) ? "ko" : "en";
  }

  function rememberLanguage(lang) {
    try {
      window.localStorage.setItem(LANG_STORAGE_KEY, lang);
    } catch (_) {
      /* private mode: the choice lasts for this page only */
    }
  }

  // ---------------------------------------------------------------- DOM

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  /** The URL if it may become a link: http(s) or a site-relative path; otherwise null. */
  function safeHref(url) {
    if (typeof url !== "string") return null;
    const value = url.trim();
    if (/^https?:\/\//i.test(value)) {
      try {
        const parsed = new URL(value);
        return parsed.protocol === "http:" || parsed.protocol === "https:" ? value : null;
      } catch (_) {
        return null;
      }
    }
    if (value.startsWith("/") && !value.startsWith("//") && !value.startsWith("/\\")) return value;
    return null;
  }

  /** A source link (new tab) or, for an unsafe URL, plain text in a span. */
  function sourceLink(text, url, className) {
    const href = safeHref(url);
    if (!href) return el("span", className ? `${className} is-plain` : "is-plain", text);
    const a = el("a", className, text);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.setAttribute("aria-describedby", "new-tab-hint");
    return a;
  }

  /** Appends text with <mark> elements at the [start, end) code-point offsets. */
  function appendHighlighted(parent, text, highlights) {
    const chars = Array.from(typeof text === "string" ? text : "");
    const spans = (Array.isArray(highlights) ? highlights : [])
      .filter((h) => Array.isArray(h) && Number.isInteger(h[0]) && Number.isInteger(h[1]))
      .map((h) => [Math.max(0, h[0]), Math.min(chars.length, h[1])])
      .filter((h) => h[1] > h[0])
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let pos = 0;
    for (const [rawStart, end] of spans) {
      const start = Math.max(rawStart, pos);
      if (end <= start) continue;
      if (start > pos) parent.appendChild(document.createTextNode(chars.slice(pos, start).join("")));
      parent.appendChild(el("mark", "", chars.slice(start, end).join("")));
      pos = end;
    }
    if (pos < chars.length) parent.appendChild(document.createTextNode(chars.slice(pos).join("")));
  }

  /** Runs fn once the document is parsed (at once if it already is). */
  function whenReady(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  // ---------------------------------------------------------------- products

  function productId(product) {
    return product && typeof product === "object" ? String(product.id || "") : String(product || "");
  }

  /** A product's display name in lang: its own name, a known product's, or its id in Title Case. */
  function productLabel(product, lang) {
    if (product && typeof product === "object" && (product.name || product.title)) {
      return String(product.name || product.title);
    }
    const id = productId(product);
    const known = PRODUCT_NAMES[id];
    if (known) return known[lang] || known.en;
    return id.replace(/[-_]+/g, " ").replace(/\b\w/g, (c) => c.toUpperCase());
  }

  /** Rebuilds a <select>'s options after its first ("all") one, keeping the choice if it still exists. */
  function fillProductSelect(select, products, label) {
    const chosen = select.value;
    while (select.options.length > 1) select.remove(1);
    for (const product of products) {
      const id = productId(product);
      if (!id) continue;
      const option = el("option", "", label(product));
      option.value = id;
      select.appendChild(option);
    }
    select.value = chosen;
    if (select.value !== chosen) select.value = "";
  }

  // ---------------------------------------------------------------- requests

  async function readJson(response) {
    try {
      return await response.json();
    } catch (_) {
      return null;
    }
  }

  /** An Error for a refused request, with .status, and the server's .detail and .code if any. */
  function requestError(response, body) {
    const error = new Error((body && (body.detail || body.title)) || `HTTP ${response.status}`);
    error.status = response.status;
    error.detail = body && typeof body.detail === "string" ? body.detail : "";
    error.code = body && typeof body.code === "string" ? body.code : "";
    return error;
  }

  function isAbort(error) {
    return error && (error.name === "AbortError" || error.code === 20);
  }

  window.HelpdeskDom = Object.freeze({
    makeTranslator,
    translatePage,
    initialLanguage,
    rememberLanguage,
    el,
    clear,
    safeHref,
    sourceLink,
    appendHighlighted,
    whenReady,
    productId,
    productLabel,
    fillProductSelect,
    readJson,
    requestError,
    isAbort,
  });
})();
