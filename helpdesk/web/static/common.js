/* Nimbus Home front ends: the one toolkit the help-center page (help.js), the agents' console
 * (agent.js) and the widget (widget.js) share: DOM helpers, strings, one fetch helper, one
 * Server-Sent Events reader and one citation renderer.
 *
 * It defines one name, Helpdesk. On the pages it is loaded by its own <script> tag before the page
 * script; in the widget, the /widget.js route wraps it with widget.js in one function, so the name
 * stays local there and the host page sees nothing of it.
 *
 * Plain ES2017, no dependencies, no modules. Every piece of document or model text is inserted with
 * textContent / createTextNode; only http(s) or site-relative URLs become links.
 */
// eslint-disable-next-line no-unused-vars
const Helpdesk = (() => {
  "use strict";

  /** The UI language the reader chose, remembered across both pages. */
  const LANG_STORAGE_KEY = "helpdesk.lang";
  const VISITOR_STORAGE_KEY = "helpdesk.visitor";
  const VISITOR_HEADER = "X-Helpdesk-Visitor";

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

  /**
   * This browser's anonymous visitor id, kept in localStorage, sent with every request in the
   * X-Helpdesk-Visitor header: the insights follow one visitor's journey across the help page
   * and the widget with it, and an experiment gives the visitor one variant. Random; names
   * nobody. Private mode: a new id per page.
   */
  let visitor = null;
  function visitorId() {
    if (visitor) return visitor;
    try {
      visitor = window.localStorage.getItem(VISITOR_STORAGE_KEY);
    } catch (_) {
      visitor = null;
    }
    if (!visitor || !/^[A-Za-z0-9_-]{8,64}$/.test(visitor)) {
      const bytes = new Uint8Array(16);
      window.crypto.getRandomValues(bytes);
      visitor = "v-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      try {
        window.localStorage.setItem(VISITOR_STORAGE_KEY, visitor);
      } catch (_) {
        /* private mode: this page only */
      }
    }
    return visitor;
  }

  /** A value as trimmed text ("" for null or undefined). */
  function str(value) {
    return value === null || value === undefined ? "" : String(value).trim();
  }

  // ---------------------------------------------------------------- DOM

  /**
   * An element: attrs are attributes, except `text` (its text content) and `on<event>` (a
   * listener); null, undefined and false leave an attribute out. Kids are nodes or strings (text).
   */
  function h(tag, attrs, kids) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = String(value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const kid of kids || []) {
      if (kid !== null && kid !== undefined) {
        node.appendChild(typeof kid === "string" ? document.createTextNode(kid) : kid);
      }
    }
    return node;
  }

  /** h() for the common case: a tag, a class and a text. */
  function el(tag, className, text) {
    return h(tag, { class: className || null, text });
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  /**
   * The URL if it may become a link: http(s) or a site-relative path; otherwise null. With a base
   * (the widget, on another site), a relative path is resolved against it.
   */
  function safeHref(url, base) {
    if (typeof url !== "string") return null;
    const value = url.trim();
    const relative = value.startsWith("/") && !value.startsWith("//") && !value.startsWith("/\\");
    if (!relative && !/^https?:\/\//i.test(value)) return null;
    try {
      const parsed = new URL(value, base || window.location.href);
      if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return null;
      return base ? parsed.href : value;
    } catch (_) {
      return null;
    }
  }

  /**
   * A source link that opens in a new tab or, for an unsafe URL, plain text in a span.
   * Options: className; base (see safeHref); hint, the id of the "opens in a new tab" text
   * (the pages' "new-tab-hint" unless null); attrs, more attributes for the link or span.
   */
  function sourceLink(text, url, options = {}) {
    const { className = "", base = null, hint = "new-tab-hint", attrs = {} } = options;
    const href = safeHref(url, base);
    if (!href) return h("span", { ...attrs, class: className ? `${className} is-plain` : "is-plain", text });
    return h("a", {
      ...attrs,
      class: className || null,
      text,
      href,
      target: "_blank",
      rel: "noopener noreferrer",
      "aria-describedby": hint,
    });
  }

  /** Appends text with <mark> elements at the [start, end) code-point offsets. */
  function appendHighlighted(parent, text, highlights) {
    const chars = Array.from(typeof text === "string" ? text : "");
    const spans = (Array.isArray(highlights) ? highlights : [])
      .filter((span) => Array.isArray(span) && Number.isInteger(span[0]) && Number.isInteger(span[1]))
      .map((span) => [Math.max(0, span[0]), Math.min(chars.length, span[1])])
      .filter((span) => span[1] > span[0])
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

  /** A heading path ("Setup › Wi-Fi") from a list that may hold anything. */
  function headingPath(headings) {
    return Array.isArray(headings) ? headings.filter((x) => typeof x === "string" && x).join(" › ") : "";
  }

  /** A search result's heading path and highlighted snippet, as every page shows them. */
  function appendResultBody(item, result) {
    const breadcrumb = headingPath(result.headings);
    if (breadcrumb) item.appendChild(el("p", "result-breadcrumb", breadcrumb));
    const snippet = el("p", "result-snippet");
    appendHighlighted(snippet, result.snippet, result.highlights);
    item.appendChild(snippet);
  }

  /** Runs fn once the document is parsed (at once if it already is). */
  function whenReady(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn, { once: true });
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
    return Boolean(error) && (error.name === "AbortError" || error.code === 20);
  }

  /**
   * fetch(), resolving to the JSON body of a 2xx answer (null for a 204) and rejecting with a
   * requestError() for any other answer, including a 2xx one without JSON. `json` is sent as the
   * JSON body; the other options (method, signal, credentials, mode, headers...) go to fetch().
   */
  async function fetchJson(url, options = {}) {
    const { json, headers, ...init } = options;
    const sent = json === undefined ? {} : { "Content-Type": "application/json" };
    if (json !== undefined) init.body = JSON.stringify(json);
    const response = await fetch(url, {
      ...init,
      headers: { Accept: "application/json", [VISITOR_HEADER]: visitorId(), ...sent, ...headers },
    });
    const body = response.status === 204 ? null : await readJson(response);
    if (!response.ok || (body === null && response.status !== 204)) throw requestError(response, body);
    return body;
  }

  /**
   * One request at a time, where only the latest counts (search as you type, a new question).
   * run(request, {done, failed, settled}) aborts the request in flight, calls request(signal,
   * isCurrent) and then, unless a newer run() or abort() came meanwhile: done(value) or
   * failed(error), then settled(). An overtaken or aborted request calls none of them.
   */
  function latestRequest() {
    let current = null;
    return {
      abort() {
        if (current) current.abort();
        current = null;
      },
      async run(request, { done = () => {}, failed = () => {}, settled = () => {} } = {}) {
        if (current) current.abort();
        const controller = new AbortController();
        current = controller;
        const isCurrent = () => controller === current;
        try {
          const value = await request(controller.signal, isCurrent);
          if (isCurrent()) done(value);
        } catch (error) {
          if (isCurrent() && !isAbort(error)) failed(error);
        } finally {
          if (isCurrent()) {
            current = null;
            settled();
          }
        }
      },
    };
  }

  /**
   * POSTs json to a streaming endpoint and calls onEvent(name, data) for each event it sends
   * (see readEvents). An answer that is not a stream is taken as the "final" event. Rejects as
   * fetchJson does; resolves when the stream ends, whether or not a "final" event came.
   */
  async function fetchEvents(url, json, onEvent, init = {}) {
    const response = await fetch(url, {
      ...init,
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "text/event-stream",
        [VISITOR_HEADER]: visitorId(),
      },
      body: JSON.stringify(json),
    });
    if (!response.ok) throw requestError(response, await readJson(response));
    const type = response.headers.get("Content-Type") || "";
    if (type.includes("text/event-stream") && response.body) {
      await readEvents(response.body, onEvent);
      return;
    }
    const body = await readJson(response);
    if (!body) throw requestError(response, body);
    onEvent("final", body);
  }

  /**
   * Reads a Server-Sent Events body, calling onEvent(name, data) for each event whose data is
   * JSON. Lines may end in \r\n, \r or \n, even when a chunk ends between the \r and the \n;
   * several data: lines join with \n; an event without an event: line is named "message".
   */
  async function readEvents(body, onEvent) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    const dispatch = (block) => {
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (!line || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
      }
      if (!data.length) return;
      let parsed;
      try {
        parsed = JSON.parse(data.join("\n"));
      } catch (_) {
        return;
      }
      onEvent(name, parsed);
    };
    for (;;) {
      const { value, done } = await reader.read();
      let text = buffer + (done ? decoder.decode() : decoder.decode(value, { stream: true }));
      // A \r at the end may be the first half of a \r\n: keep it until the next chunk says.
      const held = !done && text.endsWith("\r") ? "\r" : "";
      if (held) text = text.slice(0, -1);
      text = text.replace(/\r\n?/g, "\n");
      let end;
      while ((end = text.indexOf("\n\n")) !== -1) {
        dispatch(text.slice(0, end));
        text = text.slice(end + 2);
      }
      buffer = text + held;
      if (done) {
        if (buffer.trim()) dispatch(buffer);
        return;
      }
    }
  }

  // ---------------------------------------------------------------- citations

  /**
   * Renders an answer's citations into list (an <ol>): one <li class="citation-item"> each, with
   * the "[n]" label and the source's title as a link (plain text for an unsafe URL). Returns the
   * set of citation ids shown. Options:
   *   sources: {id: source} to fill in a citation's missing title or URL (the "sources" event);
   *   merge: one item for citations with the same title and URL ("[1][3] Title");
   *   labelApart: the label in its own <span class="citation-ids"> rather than in the link text;
   *   idPrefix: gives each item an id (prefix + n) that "[n]" markers can point at;
   *   link: more options for sourceLink (base, hint, attrs);
   *   decorate(item, citation): adds what one front end shows beyond that (snippet, badge...).
   */
  function renderCitations(list, citations, options = {}) {
    const { sources = {}, merge = false, labelApart = false, idPrefix = "", link = {}, decorate } = options;
    clear(list);
    const groups = [];
    const byKey = new Map();
    (Array.isArray(citations) ? citations : []).forEach((citation, index) => {
      if (!citation || typeof citation !== "object") return;
      const id = Number.isInteger(citation.id) ? citation.id : index + 1;
      const known = sources[id] || {};
      const title = str(citation.title) || str(known.title);
      const url = str(citation.url) || str(known.url);
      const key = `${title}\n${url}`;
      if (merge && !title && !url) return;
      if (merge && byKey.has(key)) {
        byKey.get(key).ids.push(id);
        return;
      }
      const group = { ids: [id], title: title || url, url, citation };
      byKey.set(key, group);
      groups.push(group);
    });
    const ids = new Set();
    for (const { ids: own, title, url, citation } of groups) {
      own.forEach((id) => ids.add(id));
      const label = own.map((id) => `[${id}]`).join("");
      const item = el("li", "citation-item");
      if (idPrefix) {
        item.id = `${idPrefix}${own[0]}`;
        item.tabIndex = -1;
      }
      if (citation.language === "en" || citation.language === "ko") item.lang = citation.language;
      if (labelApart) item.appendChild(el("span", "citation-ids", label));
      item.appendChild(sourceLink(labelApart ? title : `${label} ${title}`, url, { className: "citation", ...link }));
      if (decorate) decorate(item, citation);
      list.appendChild(item);
    }
    return ids;
  }

  // ---------------------------------------------------------------- feedback and hand-off

  /** The reasons a thumbs down may give, in the order shown, as /api/feedback takes them. */
  const FEEDBACK_REASONS = Object.freeze(["wrong", "incomplete", "not_my_question", "other"]);

  /** A number for the ids that tie a label to its field when one page shows several forms. */
  let formCount = 0;

  /**
   * Whether an answer asks the UI to offer a person ({offer, reason}): its escalation's offer,
   * and the reason the wording adapts to (an explicit request first, else the first one given).
   */
  function escalationOffer(answer) {
    const escalation = answer && answer.escalation && typeof answer.escalation === "object" ? answer.escalation : {};
    const reasons = Array.isArray(escalation.reasons) ? escalation.reasons.filter((r) => typeof r === "string") : [];
    const reason = reasons.includes("asked_for_person") ? "asked_for_person" : reasons[0] || "";
    return { offer: escalation.offer === true, reason };
  }

  /**
   * The thumbs-down follow-up: a <form class="reasons"> with the four reasons as radios, an
   * optional comment, Send and Skip. labels: {legend, comment, send, skip, wrong, incomplete,
   * not_my_question, other}. onDone({reason, comment}) gets what was chosen (both may be "").
   */
  function reasonPicker(labels, onDone) {
    const n = ++formCount;
    const choices = FEEDBACK_REASONS.map((reason) =>
      h("label", { class: "reason" }, [
        h("input", { type: "radio", name: `fb-reason-${n}`, value: reason, "data-testid": `reason-${reason}` }),
        h("span", { text: labels[reason] }),
      ]),
    );
    const comment = h("textarea", {
      id: `fb-comment-${n}`, rows: "2", maxlength: "1000", "data-testid": "reason-comment",
    });
    const form = h("form", { class: "reasons", "data-testid": "reason-picker" }, [
      h("fieldset", {}, [h("legend", { text: labels.legend }), h("div", { class: "reason-list" }, choices)]),
      h("label", { class: "reason-comment-label", for: comment.id, text: labels.comment }),
      comment,
      h("div", { class: "form-actions" }, [
        h("button", { type: "submit", class: "primary", "data-testid": "reason-send", text: labels.send }),
        h("button", { type: "button", class: "secondary", "data-testid": "reason-skip", text: labels.skip,
          onclick: () => onDone({ reason: "", comment: "" }) }),
      ]),
    ]);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const checked = form.querySelector("input[type=radio]:checked");
      onDone({ reason: checked ? checked.value : "", comment: str(comment.value) });
    });
    return form;
  }

  /** The JSON /api/feedback takes: the vote, and the reason and comment when there are any. */
  function feedbackBody(conversationId, answerId, helpful, { reason = "", comment = "" } = {}) {
    const body = { conversation_id: conversationId, helpful };
    if (answerId) body.answer_id = answerId;
    if (reason) body.reason = reason;
    if (comment) body.comment = comment;
    return body;
  }

  /**
   * The hand-off form: a <form class="handoff-form"> with an optional note for the agent, Send
   * and Cancel (or Escape), and a status line. labels: {note, hint, send, cancel, sending}.
   * send(message) returns a promise; while it runs the form is disabled, and if it rejects,
   * failed(error) gives the node (or text) the status line shows. cancel() is called on Cancel.
   */
  function handoffForm(labels, { send, failed, cancel }) {
    const n = ++formCount;
    const note = h("textarea", {
      id: `handoff-note-${n}`, rows: "3", maxlength: "2000", "data-testid": "handoff-message",
      "aria-describedby": `handoff-hint-${n}`,
    });
    const status = h("p", { class: "form-status", role: "status", "data-testid": "handoff-status" });
    const submit = h("button", { type: "submit", class: "primary", "data-testid": "handoff-send", text: labels.send });
    const back = h("button", {
      type: "button", class: "secondary", "data-testid": "handoff-cancel", text: labels.cancel, onclick: () => cancel(),
    });
    const form = h("form", { class: "handoff-form", "data-testid": "handoff-form" }, [
      h("label", { for: note.id, text: labels.note }),
      h("p", { id: `handoff-hint-${n}`, class: "form-hint", text: labels.hint }),
      note,
      h("div", { class: "form-actions" }, [submit, back]),
      status,
    ]);
    // Escape leaves the form, not the page or chat around it.
    form.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || back.disabled) return;
      event.preventDefault();
      event.stopPropagation();
      cancel();
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (submit.disabled) return;
      submit.disabled = back.disabled = note.disabled = true;
      clear(status);
      status.textContent = labels.sending;
      try {
        await send(str(note.value));
      } catch (error) {
        const shown = failed(error);
        clear(status);
        status.appendChild(typeof shown === "string" ? document.createTextNode(shown) : shown);
        status.classList.add("is-error");
        submit.disabled = back.disabled = note.disabled = false;
        status.scrollIntoView({ block: "nearest" });
      }
    });
    return { form, focus: () => note.focus() };
  }

  /**
   * Asks for a hand-off ticket's news every intervalMs while active() is true, until it is
   * resolved or stop() is called. onUpdate(ticket, replies) gets the ticket and the replies not
   * passed on before. now() asks at once (when the chat opens again, say).
   */
  function handoffPoller({ base = "", ticketId, conversationId, intervalMs = 10000, init = {}, active, onUpdate }) {
    const params = new URLSearchParams({ conversation_id: conversationId });
    const url = `${base}/api/handoff/${encodeURIComponent(ticketId)}?${params}`;
    let seen = 0;
    let timer = 0;
    let busy = false;
    let stopped = false;
    const schedule = () => {
      window.clearTimeout(timer);
      if (!stopped) timer = window.setTimeout(tick, intervalMs);
    };
    async function tick() {
      if (stopped || busy) return;
      if (active && !active()) return schedule();
      busy = true;
      try {
        const ticket = await fetchJson(url, init);
        const replies = (Array.isArray(ticket.replies) ? ticket.replies : []).filter(
          (reply) => reply && typeof reply.text === "string",
        );
        const fresh = replies.slice(seen);
        seen = Math.max(seen, replies.length);
        if (!stopped) onUpdate(ticket, fresh);
        if (ticket.status === "resolved") stopped = true;
      } catch (_) {
        /* the next tick tries again */
      } finally {
        busy = false;
      }
      schedule();
    }
    schedule();
    return {
      now: () => {
        window.clearTimeout(timer);
        tick();
      },
      stop: () => {
        stopped = true;
        window.clearTimeout(timer);
      },
    };
  }

  return Object.freeze({
    makeTranslator,
    translatePage,
    initialLanguage,
    rememberLanguage,
    str,
    h,
    el,
    clear,
    safeHref,
    sourceLink,
    appendHighlighted,
    headingPath,
    appendResultBody,
    whenReady,
    productId,
    productLabel,
    fillProductSelect,
    visitorId,
    readJson,
    requestError,
    isAbort,
    fetchJson,
    latestRequest,
    fetchEvents,
    readEvents,
    renderCitations,
    FEEDBACK_REASONS,
    escalationOffer,
    reasonPicker,
    feedbackBody,
    handoffForm,
    handoffPoller,
  });
})();
