/* The embeddable widget: a help-center chat for any site, behind one script tag.
 *
 * Embed:
 *   <script src="https://help.example.com/widget.js" data-title="Help" data-color="#0b6bcb"
 *     data-greeting="Hi!" data-lang="auto" data-position="right" data-product=""
 *     data-plan="" data-locale="" data-customer-id="" data-contact="" async></script>
 * or, with data-manual on the tag, call window.HelpdeskWidget.init({...}) yourself.
 *
 * Not served as it stands: /widget.js joins common.js (the Helpdesk toolkit the pages use too)
 * and this file into one script, wrapped in one function, so window.HelpdeskWidget is the only
 * name a host page sees. Plain ES2017.
 *
 * Everything lives in an open shadow root on <div id="helpdesk-widget">, so the host page's CSS
 * cannot restyle it and its CSS cannot leak out. All text from the API is inserted as text nodes.
 */
(() => {
  "use strict";
  if (window.HelpdeskWidget && window.HelpdeskWidget.version) return; // loaded twice

  const { str, h, sourceLink, whenReady, fetchJson, fetchEvents, renderCitations } = Helpdesk;

  const script =
    document.currentScript ||
    (() => {
      const all = document.querySelectorAll("script[src*='widget.js']");
      return all[all.length - 1] || null;
    })();
  const SVGNS = "http://www.w3.org/2000/svg";

  const STRINGS = {
    en: {
      title: "Help", greeting: "Hi! Ask me anything about our products and services.",
      open: "Open help chat", close: "Close help chat", closeBtn: "Close",
      placeholder: "Ask a question…", send: "Send",
      typing: "The assistant is typing", sources: "Sources", helpful: "Was this helpful?",
      up: "Helpful", down: "Not helpful", thanks: "Thanks!", fbError: "Couldn't send feedback.",
      handoff: "Talk to a person", contact: "Contact our support team: ",
      noContact: "Please contact this site's support team.",
      retry: "Try again",
      network: "We couldn't reach the help center. Check your connection and try again.",
      origin: "This site isn't allowed to use the help center.",
      unavailable: "The help center is temporarily unavailable. Please try again in a moment.",
      tooMany: "Too many questions at once. Please wait a moment and try again.",
      tooLong: "Your question is too long. Please make it shorter.",
      invalid: "Sorry, we couldn't process that question. Please rephrase it.",
      generic: "Something went wrong. Please try again.",
      interrupted: "The answer was interrupted. Please try again."
    },
    ko: {
      title: "도움말", greeting: "안녕하세요! 제품과 서비스에 대해 무엇이든 물어보세요.",
      open: "도움말 채팅 열기", close: "도움말 채팅 닫기", closeBtn: "닫기",
      placeholder: "질문을 입력하세요…", send: "보내기",
      typing: "답변을 작성하고 있습니다", sources: "출처", helpful: "도움이 되었나요?",
      up: "도움이 됨", down: "도움이 안 됨", thanks: "감사합니다!",
      fbError: "의견을 보내지 못했습니다.",
      handoff: "상담원 연결", contact: "고객지원팀 연락처: ",
      noContact: "이 사이트의 고객지원팀에 문의해 주세요.",
      retry: "다시 시도",
      network: "도움말 센터에 연결할 수 없습니다. 인터넷 연결을 확인한 후 다시 시도해 주세요.",
      origin: "이 사이트에서는 도움말 센터를 사용할 수 없습니다.",
      unavailable: "도움말 센터를 잠시 사용할 수 없습니다. 잠시 후 다시 시도해 주세요.",
      tooMany: "질문이 너무 많습니다. 잠시 후 다시 시도해 주세요.",
      tooLong: "질문이 너무 깁니다. 조금 더 짧게 입력해 주세요.",
      invalid: "질문을 처리할 수 없습니다. 다른 표현으로 다시 질문해 주세요.",
      generic: "문제가 발생했습니다. 다시 시도해 주세요.",
      interrupted: "답변이 중단되었습니다. 다시 시도해 주세요."
    }
  };

  const ICONS = {
    chat: "M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2z",
    close: "M19 6.41 17.59 5 12 10.59 6.41 5 5 6.41 10.59 12 5 17.59 6.41 19 12 13.41 17.59 19 19 17.59 13.41 12z",
    send: "M2.01 21 23 12 2.01 3 2 10l15 2-15 2z",
    up: "M1 21h4V9H1v12zm22-11a2 2 0 0 0-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10a2 2 0 0 0 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z",
    person: "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm0 2c-2.67 0-8 1.34-8 4v2h16v-2c0-2.66-5.33-4-8-4z"
  };

  // ---- small helpers -------------------------------------------------------------------------

  function icon(name, cls) {
    const svg = document.createElementNS(SVGNS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    if (cls) svg.setAttribute("class", cls);
    const path = document.createElementNS(SVGNS, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  function pickLang(option) {
    option = str(option).toLowerCase();
    if (option === "ko" || option === "en") return option;
    const nav = str(navigator.language || (navigator.languages || [])[0]).toLowerCase();
    const page = str(document.documentElement.getAttribute("lang")).toLowerCase();
    return nav.startsWith("ko") || page.startsWith("ko") ? "ko" : "en";
  }

  // A colour goes into the style sheet, so it must be a plain colour value and nothing more.
  function safeColor(c) {
    c = str(c);
    if (!c || !/^[#a-zA-Z0-9(),.%\s/-]+$/.test(c)) return null;
    if (window.CSS && CSS.supports && !CSS.supports("color", c)) return null;
    return c;
  }

  function onColor(c) {
    const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(c || "");
    if (!m) return "#fff";
    const hex = m[1].length === 3 ? m[1].replace(/./g, "$&$&") : m[1];
    const lum = [0, 2, 4].reduce((sum, i, j) => {
      let x = parseInt(hex.substr(i, 2), 16) / 255;
      x = x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
      return sum + x * [0.2126, 0.7152, 0.0722][j];
    }, 0);
    return lum > 0.45 ? "#111" : "#fff";
  }

  function readScriptOptions(s) {
    if (!s) return {};
    const d = s.dataset || {};
    const o = {
      title: d.title, color: d.color, greeting: d.greeting, lang: d.lang, position: d.position,
      product: d.product, plan: d.plan, locale: d.locale, customerId: d.customerId,
      contact: d.contact, apiBase: d.api,
    };
    if (!o.apiBase && s.src) {
      try {
        o.apiBase = new URL(s.src, location.href).origin;
      } catch (_) {
        /* ignore */
      }
    }
    return o;
  }

  // ---- style -----------------------------------------------------------------------------------

  function css(side, accent) {
    const other = side === "left" ? "right" : "left";
    return ":host{all:initial!important;position:fixed!important;bottom:20px!important;" +
      side + ":20px!important;" + other + ":auto!important;top:auto!important;" +
      "z-index:2147483000!important;display:block!important;visibility:visible!important;" +
      "opacity:1!important;width:auto!important;height:auto!important;margin:0!important;" +
      "padding:0!important;transform:none!important;filter:none!important;" +
      "pointer-events:auto!important;" +
      "--a:" + (accent || "#0b6bcb") + ";--on-a:" + onColor(accent || "#0b6bcb") + "}" +
      `
*,*::before,*::after{box-sizing:border-box;margin:0;padding:0}
.w{font-family:system-ui,-apple-system,"Segoe UI","Apple SD Gothic Neo","Malgun Gothic","Noto Sans KR",sans-serif;font-size:14px;line-height:1.5;color:#1d2329;text-align:left;direction:ltr;letter-spacing:normal;-webkit-font-smoothing:antialiased}
[hidden]{display:none!important}
button,textarea{font:inherit;color:inherit;letter-spacing:inherit}
button{background:none;border:0;cursor:pointer}
button:disabled{cursor:default}
svg{display:block;width:20px;height:20px;fill:currentColor}
:focus{outline:none}
:focus-visible{outline:2px solid var(--a);outline-offset:2px}
.launcher{display:flex;align-items:center;justify-content:center;width:56px;height:56px;border-radius:50%;background:var(--a);color:var(--on-a);box-shadow:0 4px 14px rgba(0,0,0,.22),0 1px 3px rgba(0,0,0,.16);transition:transform .15s ease,box-shadow .15s ease}
.launcher:hover{transform:scale(1.06);box-shadow:0 6px 20px rgba(0,0,0,.26)}
.launcher svg{width:26px;height:26px}
.launcher .i-close,.open .launcher .i-chat{display:none}
.open .launcher .i-close{display:block}
.panel{position:absolute;bottom:72px;SIDE:0;width:360px;height:520px;max-height:calc(100vh - 110px);max-width:calc(100vw - 40px);display:flex;flex-direction:column;background:#fff;border-radius:16px;overflow:hidden;box-shadow:0 12px 48px rgba(16,24,40,.22),0 2px 8px rgba(16,24,40,.1);border:1px solid rgba(16,24,40,.08);transform-origin:bottom SIDE;animation:hd-in .18s ease-out}
@keyframes hd-in{from{opacity:0;transform:translateY(8px) scale(.98)}to{opacity:1;transform:none}}
.head{display:flex;align-items:center;gap:10px;padding:14px 12px 14px 18px;background:var(--a);color:var(--on-a)}
.head h2{flex:1;font-size:16px;font-weight:650;line-height:1.3;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.head .x{display:flex;padding:6px;border-radius:8px;color:inherit}
.head .x:hover{background:rgba(255,255,255,.18)}
.head .x:focus-visible{outline-color:var(--on-a)}
.log{flex:1;overflow-y:auto;padding:16px 14px;display:flex;flex-direction:column;gap:10px;background:#f5f7fa;overscroll-behavior:contain}
.msg{max-width:86%;padding:9px 13px;border-radius:16px;white-space:pre-wrap;word-break:keep-all;overflow-wrap:anywhere}
.bot{align-self:flex-start;background:#fff;border:1px solid #e2e6eb;border-bottom-left-radius:5px;box-shadow:0 1px 2px rgba(16,24,40,.05)}
.user{align-self:flex-end;background:var(--a);color:var(--on-a);border-bottom-right-radius:5px}
.bot.handoff-ans{border-color:#f0c36d;background:#fffaf0}
.cite{font-size:11px;font-weight:600;color:var(--a);vertical-align:super;line-height:0;margin:0 1px}
.src{margin-top:8px;padding-top:8px;border-top:1px solid #edf0f3;white-space:normal;font-size:12.5px}
.src p{font-weight:600;color:#5b6672;margin-bottom:3px;font-size:12px}
.src ol{list-style:none;display:flex;flex-direction:column;gap:2px}
.src li{display:flex;gap:6px;align-items:baseline}
.src .citation-ids{flex:none;color:#5b6672;font-size:11px;font-variant-numeric:tabular-nums}
.src a{color:var(--a);text-decoration:none;font-weight:500}
.src a:hover{text-decoration:underline}
.fb{display:flex;align-items:center;gap:4px;margin-top:8px;white-space:normal;font-size:12px;color:#5b6672}
.fb span{margin-right:4px}
.fb button{display:flex;padding:5px;border-radius:8px;color:#5b6672;border:1px solid transparent}
.fb button svg{width:16px;height:16px}
.fb button:hover:not(:disabled){background:#eef1f4;color:#1d2329}
.fb button:disabled{opacity:.45}
.fb button[aria-pressed=true]{opacity:1;color:var(--a);border-color:currentColor}
.fb .dn svg{transform:rotate(180deg)}
.err{color:#a4262c;background:#fdf3f4;border-color:#f1c4c8}
.err button{display:block;margin-top:6px;font-size:13px;font-weight:600;color:#a4262c;text-decoration:underline}
.note{display:block;margin-top:6px;font-size:12.5px;color:#a4262c;white-space:normal}
.typing{display:flex;gap:4px;padding:5px 2px}
.typing i{width:7px;height:7px;border-radius:50%;background:#9aa5b1;animation:hd-b 1.2s infinite ease-in-out}
.typing i:nth-child(2){animation-delay:.15s}.typing i:nth-child(3){animation-delay:.3s}
@keyframes hd-b{0%,60%,100%{transform:none;opacity:.5}30%{transform:translateY(-4px);opacity:1}}
.comp{display:flex;align-items:flex-end;gap:8px;padding:10px 12px;border-top:1px solid #e6e9ed;background:#fff}
.comp textarea{flex:1;resize:none;min-height:40px;max-height:120px;padding:9px 14px;border:1px solid #cfd6de;border-radius:20px;background:#fff;line-height:1.45;outline:none;overflow-y:auto}
.comp textarea:focus{border-color:var(--a);box-shadow:0 0 0 3px color-mix(in srgb,var(--a) 20%,transparent)}
.comp textarea::placeholder{color:#7b8794}
.send{flex:none;display:flex;align-items:center;justify-content:center;width:40px;height:40px;border-radius:50%;background:var(--a);color:var(--on-a)}
.send:disabled{opacity:.45}
.foot{padding:8px 12px 10px;background:#fff;text-align:center}
.hand{display:inline-flex;align-items:center;gap:6px;padding:5px 12px;border-radius:999px;font-size:13px;font-weight:500;color:#3d4852}
.hand svg{width:16px;height:16px}
.hand:hover{background:#eef1f4}
.prom .hand{background:var(--a);color:var(--on-a);font-weight:600;box-shadow:0 2px 6px rgba(0,0,0,.15)}
.contact{margin:0 0 8px;padding:8px 12px;border-radius:10px;background:#f0f4f8;font-size:13px;overflow-wrap:anywhere}
.contact .is-plain,.text strong{font-weight:600}
.contact a{color:var(--a)}
@media (max-width:480px){
.panel{position:fixed;left:0;right:0;bottom:0;top:0;width:100%;height:100%;max-width:none;max-height:none;border-radius:0;border:0}
.open .launcher{display:none}
}
@media (prefers-reduced-motion:reduce){*{animation:none!important;transition:none!important}}
`.replace(/SIDE/g, side);
  }

  // ---- the widget ----------------------------------------------------------------------------

  let state = null; // the mounted widget, or null

  function mount(options) {
    const o = { ...readScriptOptions(script) };
    for (const [key, value] of Object.entries(options || {})) if (value != null) o[key] = value;
    if (o.customer_id != null && o.customerId == null) o.customerId = o.customer_id;

    const lang = pickLang(o.lang);
    const t = STRINGS[lang];
    const side = str(o.position).toLowerCase() === "left" ? "left" : "right";
    const apiBase = str(o.apiBase || o.api).replace(/\/+$/, "") || location.origin;
    const title = str(o.title) || t.title;
    const s = { conversationId: null, lastContact: null, config: null, busy: false, isOpen: false };
    // Links from the help center resolve against it; they open in a new tab (no hint element here).
    const link = { base: apiBase, hint: null };

    const host = h("div", { id: "helpdesk-widget" });
    const root = host.attachShadow({ mode: "open" });
    const sheet = css(side, safeColor(o.color));
    // A constructed sheet also works on pages whose CSP forbids inline <style>.
    try {
      const constructed = new CSSStyleSheet();
      constructed.replaceSync(sheet);
      root.adoptedStyleSheets = [constructed];
    } catch (_) {
      root.appendChild(h("style", { text: sheet }));
    }

    const launcher = h("button", {
      type: "button", class: "launcher", "data-testid": "launcher", "aria-label": t.open,
      "aria-expanded": "false", "aria-controls": "hd-panel",
      onclick: () => (s.isOpen ? close(true) : open()),
    }, [icon("chat", "i-chat"), icon("close", "i-close")]);

    const input = h("textarea", {
      "data-testid": "input", rows: "1", maxlength: "1000", placeholder: t.placeholder,
      "aria-label": t.placeholder, enterkeyhint: "send",
      oninput: () => {
        autosize();
        updateSend();
      },
      onkeydown: (e) => {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
          e.preventDefault();
          submit();
        }
      },
    });
    const send = h("button", {
      type: "button", class: "send", "data-testid": "send", "aria-label": t.send, title: t.send,
      disabled: true, onclick: () => submit(),
    }, [icon("send")]);
    const log = h("div", {
      class: "log", "data-testid": "messages", role: "log", "aria-live": "polite",
      "aria-relevant": "additions text",
    }, [h("div", { class: "msg bot greeting", "data-testid": "greeting", text: str(o.greeting) || t.greeting })]);
    const contactBox = h("div", { class: "contact", "data-testid": "contact", role: "status", hidden: true });
    const handoffBtn = h("button", {
      type: "button", class: "hand", "data-testid": "handoff", onclick: () => showContact(),
    }, [icon("person"), t.handoff]);
    const foot = h("div", { class: "foot" }, [contactBox, handoffBtn]);
    const panel = h("div", {
      id: "hd-panel", class: "panel", "data-testid": "panel", role: "dialog", "aria-label": title,
      hidden: true, lang,
    }, [
      h("div", { class: "head" }, [
        h("h2", { text: title }),
        h("button", {
          type: "button", class: "x", "data-testid": "close", "aria-label": t.closeBtn,
          title: t.closeBtn, onclick: () => close(true),
        }, [icon("close")]),
      ]),
      log,
      h("div", { class: "comp" }, [input, send]),
      foot,
    ]);
    const wrap = h("div", { class: `w ${side}` }, [panel, launcher]);
    root.appendChild(wrap);

    // Keys typed in the widget are ours: don't let the host page's shortcuts see them.
    for (const type of ["keydown", "keyup", "keypress"]) {
      wrap.addEventListener(type, (e) => {
        if (type === "keydown" && e.key === "Escape" && s.isOpen) {
          e.preventDefault();
          close(true);
        }
        e.stopPropagation();
      });
    }

    function autosize() {
      input.style.height = "auto";
      input.style.height = `${Math.min(input.scrollHeight + 2, 120)}px`;
    }

    function updateSend() {
      send.disabled = s.busy || !str(input.value);
    }

    function open() {
      if (s.isOpen) return;
      s.isOpen = true;
      panel.hidden = false;
      wrap.classList.add("open");
      launcher.setAttribute("aria-expanded", "true");
      launcher.setAttribute("aria-label", t.close);
      input.focus();
      loadConfig();
    }

    function close(returnFocus) {
      if (!s.isOpen) return;
      s.isOpen = false;
      panel.hidden = true;
      wrap.classList.remove("open");
      launcher.setAttribute("aria-expanded", "false");
      launcher.setAttribute("aria-label", t.open);
      if (returnFocus) launcher.focus();
    }

    function scrollDown() {
      log.scrollTop = log.scrollHeight;
    }

    // Cross-origin calls to the help center: never with the host site's cookies.
    const remote = { credentials: "omit", mode: "cors" };

    function loadConfig() {
      if (!s.config) s.config = fetchJson(`${apiBase}/api/config`, remote).catch(() => ({}));
      return s.config;
    }

    // ---- messages --------------------------------------------------------------------------

    function addMessage(who, text) {
      const msg = h("div", { class: `msg ${who}`, "data-testid": "message" });
      if (text != null) msg.appendChild(h("div", { class: "text", text }));
      log.appendChild(msg);
      scrollDown();
      return msg;
    }

    // The answer text, with "[n]" citation markers as small superscript spans and **bold** as
    // <strong>: elements built here, the text in them always a text node.
    function renderText(node, text, byId) {
      node.textContent = "";
      const re = /\*\*([^*\n]+?)\*\*|\[(\d{1,3})\]/g;
      let last = 0;
      let m;
      text = String(text == null ? "" : text);
      while ((m = re.exec(text))) {
        if (m.index > last) node.appendChild(document.createTextNode(text.slice(last, m.index)));
        if (m[1] != null) {
          node.appendChild(h("strong", { text: m[1] }));
        } else {
          const ref = byId[m[2]];
          node.appendChild(h("span", { class: "cite", title: ref && ref.title ? str(ref.title) : null, text: m[0] }));
        }
        last = re.lastIndex;
      }
      if (last < text.length) node.appendChild(document.createTextNode(text.slice(last)));
    }

    function renderSources(msg, citations, byId) {
      const list = h("ol");
      const shown = renderCitations(list, citations, {
        sources: byId,
        merge: true,
        labelApart: true,
        link: { ...link, attrs: { "data-testid": "source" } },
      });
      if (shown.size) msg.appendChild(h("div", { class: "src" }, [h("p", { text: t.sources }), list]));
    }

    function renderFeedback(msg, conversationId) {
      if (!conversationId) return;
      // Feedback is per conversation: only the latest answer carries the buttons.
      for (const old of log.querySelectorAll(".fb")) {
        if (old.dataset.sent) old.replaceChildren(h("span", { text: t.thanks }));
        else old.remove();
      }
      const row = h("div", { class: "fb" }, [h("span", { text: t.helpful })]);
      const vote = (helpful, btn) => {
        up.disabled = down.disabled = true;
        btn.setAttribute("aria-pressed", "true");
        fetchJson(`${apiBase}/api/feedback`, {
          ...remote,
          method: "POST",
          json: { conversation_id: conversationId, helpful },
        }).then(
          () => {
            row.dataset.sent = "1";
            row.firstChild.textContent = "";
            row.appendChild(h("span", { "data-testid": "feedback-thanks", role: "status", text: t.thanks }));
          },
          () => {
            btn.setAttribute("aria-pressed", "false");
            up.disabled = down.disabled = false;
            row.firstChild.textContent = t.fbError;
          },
        );
      };
      const up = h("button", {
        type: "button", class: "up", "data-testid": "thumbs-up", "aria-label": t.up, title: t.up,
        "aria-pressed": "false", onclick: () => vote(true, up),
      }, [icon("up")]);
      const down = h("button", {
        type: "button", class: "dn", "data-testid": "thumbs-down", "aria-label": t.down, title: t.down,
        "aria-pressed": "false", onclick: () => vote(false, down),
      }, [icon("up")]);
      row.appendChild(up);
      row.appendChild(down);
      msg.appendChild(row);
    }

    function showContact() {
      const show = (contact) => {
        contactBox.textContent = "";
        contact = str(contact);
        if (contact) {
          contactBox.appendChild(document.createTextNode(t.contact));
          contactBox.appendChild(sourceLink(contact, contact, link));
        } else {
          contactBox.textContent = t.noContact;
        }
        contactBox.hidden = false;
        scrollDown();
      };
      if (s.lastContact) return show(s.lastContact);
      show(o.contact); // shown at once, replaced by the help center's own contact if it has one
      loadConfig().then((cfg) => {
        if (!s.lastContact) show(str(cfg && cfg.contact) || o.contact);
      });
    }

    function friendlyError(status, code) {
      if (!status) return t.network;
      if (code === "origin_not_allowed" || status === 403) return t.origin;
      if (status === 413 || code === "question_too_long") return t.tooLong;
      if (status === 429) return t.tooMany;
      if (status === 503 || status === 502 || status === 504) return t.unavailable;
      if (status === 400 || status === 422) return t.invalid;
      return t.generic;
    }

    function showError(msg, text, question) {
      msg.textContent = "";
      msg.classList.add("err");
      msg.setAttribute("data-state", "error");
      msg.removeAttribute("aria-busy");
      msg.appendChild(h("div", { "data-testid": "error", role: "alert", text }));
      if (question) {
        msg.appendChild(h("button", {
          type: "button", "data-testid": "retry", text: t.retry,
          onclick: () => {
            if (!s.busy) {
              msg.remove();
              ask(question, true);
            }
          },
        }));
      }
      scrollDown();
    }

    // ---- asking ----------------------------------------------------------------------------

    function submit() {
      const q = str(input.value);
      if (!q || s.busy) return;
      input.value = "";
      autosize();
      ask(q);
    }

    async function ask(question, retry) {
      s.busy = true;
      updateSend();
      if (!retry) addMessage("user", question);
      const msg = addMessage("bot");
      // "pending" (typing dots) until there is text, then "streaming", then "final".
      msg.setAttribute("data-state", "pending");
      msg.setAttribute("aria-busy", "true");
      const typing = h("div", { class: "typing", role: "img", "aria-label": t.typing }, [h("i"), h("i"), h("i")]);
      msg.appendChild(typing);
      const textEl = h("div", { class: "text" });
      const byId = {};
      let streamed = null;
      let draft = null;
      let finished = false;

      const body = { question };
      const locale = str(o.locale) || lang;
      if (/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/.test(locale)) body.locale = locale;
      if (str(o.product)) body.product = str(o.product);
      if (str(o.plan)) body.plan = str(o.plan);
      if (str(o.customerId)) body.customer_id = str(o.customerId);
      if (s.conversationId) body.conversation_id = s.conversationId;

      const firstEvent = () => {
        if (typing.parentNode) {
          typing.remove();
          msg.insertBefore(textEl, msg.firstChild);
          msg.setAttribute("data-state", "streaming");
        }
      };

      const finish = (answer) => {
        finished = true;
        firstEvent();
        if (answer.conversation_id) s.conversationId = String(answer.conversation_id);
        if (answer.handoff && answer.contact) s.lastContact = str(answer.contact);
        renderText(textEl, answer.answer, byId);
        renderSources(msg, answer.citations, byId);
        if (answer.language === "ko" || answer.language === "en") msg.setAttribute("lang", answer.language);
        foot.classList.toggle("prom", !!answer.handoff);
        if (answer.handoff) {
          msg.classList.add("handoff-ans");
          showContact();
        }
        renderFeedback(msg, s.conversationId);
        msg.setAttribute("data-state", "final");
        msg.removeAttribute("aria-busy");
        scrollDown();
      };

      const onEvent = (name, data) => {
        if (finished || !data || typeof data !== "object") return;
        if (name !== "sources") firstEvent(); // the dots stay until there is text to show
        if (name === "sources") {
          for (const src of Array.isArray(data.sources) ? data.sources : []) {
            if (src && src.id != null) byId[src.id] = src;
          }
        } else if (name === "draft") {
          draft = data;
          if (streamed === null) renderText(textEl, data.answer, byId);
        } else if (name === "token") {
          streamed = (streamed || "") + (typeof data.text === "string" ? data.text : "");
          renderText(textEl, streamed, byId);
        } else if (name === "final") {
          finish(data);
        }
        scrollDown();
      };

      try {
        await fetchEvents(`${apiBase}/api/ask/stream`, body, onEvent, remote);
        if (!finished) {
          if (streamed !== null || draft) {
            // Keep what arrived, and say it was cut short.
            finish(streamed !== null ? { answer: streamed, citations: draft && draft.citations } : draft);
            msg.insertBefore(
              h("span", { class: "note", "data-testid": "error", role: "alert", text: t.interrupted }),
              textEl.nextSibling,
            );
          } else {
            showError(msg, t.interrupted, question);
          }
        }
      } catch (error) {
        if (finished) {
          // the answer is shown: nothing to add
        } else if (error && error.status >= 400) {
          showError(msg, friendlyError(error.status, error.code), question);
        } else if (streamed !== null || draft) {
          showError(msg, t.interrupted, question);
        } else {
          showError(msg, (await refused()) ? t.origin : t.network, question);
        }
      }
      s.busy = false;
      updateSend();
    }

    // A browser hides a cross-origin refusal (the 403 has no CORS headers) behind a network
    // error. If the help center answers a no-cors request, it is up: it refused this site.
    async function refused() {
      let base;
      try {
        base = new URL(apiBase, location.href);
      } catch (_) {
        return false;
      }
      if (base.origin === location.origin) return false;
      try {
        await fetch(`${apiBase}/healthz`, { mode: "no-cors", credentials: "omit", cache: "no-store" });
        return true;
      } catch (_) {
        return false;
      }
    }

    function destroy() {
      host.remove();
    }

    (document.body || document.documentElement).appendChild(host);
    return { open, close: () => close(false), destroy, host };
  }

  // ---- public API ----------------------------------------------------------------------------

  const Widget = {
    version: "1",
    init(options) {
      if (state) state.destroy();
      state = mount(options || {});
      return Widget;
    },
    open() {
      if (!state) Widget.init();
      state.open();
    },
    close() {
      if (state) state.close();
    },
    destroy() {
      if (state) state.destroy();
      state = null;
    },
  };
  window.HelpdeskWidget = Widget;

  if (!(script && script.hasAttribute("data-manual"))) {
    whenReady(() => {
      if (!state) Widget.init();
    });
  }
})();
