/* The embeddable widget: a help-center chat for any site, behind one script tag.
 *
 * Embed:
 *   <script src="https://help.example.com/widget.js" data-title="Help" data-color="#0b6bcb"
 *     data-greeting="Hi!" data-lang="auto" data-position="right" data-product=""
 *     data-plan="" data-locale="" data-customer-id="" data-contact="" async></script>
 * or, with data-manual on the tag, call window.HelpdeskWidget.init({...}) yourself.
 * data-product, data-plan, data-customer-id and the locale go with every question as the
 * customer's context (a ranking preference, not a filter). data-handoff-poll sets how often, in
 * seconds, an open hand-off ticket is checked for the agent's replies (10 by default).
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

  const {
    str, h, sourceLink, whenReady, fetchJson, fetchEvents, renderCitations,
    escalationOffer, reasonPicker, feedbackBody, handoffForm, handoffPoller,
  } = Helpdesk;

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
      interrupted: "The answer was interrupted. Please try again.",
      offer: "Would you like to talk to a person?",
      offer_asked_for_person: "I'll connect you with a person.",
      offer_frustration: "Sorry this has been frustrating. A person from our support team can take it from here.",
      offer_repeated: "It looks like I haven't answered this yet. A person may help better.",
      offer_not_covered: "I couldn't find this in our help articles. A person from our support team can help.",
      offer_thumbs_down: "Sorry that didn't help. Would you like to talk to a person?",
      note: "Anything the agent should know? (optional)",
      noteHint: "The agent will see this conversation.",
      handoffSend: "Send", cancel: "Cancel", sending: "Sending…",
      created: (ref) => `Ticket ${ref} created. A support agent will reply here.`,
      claimed: "A support agent is looking at your request.",
      resolved: "The support agent marked your request as resolved.",
      agent: "Support agent",
      storeDown: "We couldn't create your request just now. Please try again in a moment, or contact us: ",
      storeDownNoContact: "We couldn't create your request just now. Please try again in a moment.",
      unknownConversation: "This conversation has expired. Please ask your question again first.",
      reasonLegend: "What went wrong?", wrong: "Wrong answer", incomplete: "Incomplete",
      not_my_question: "Not my question", other: "Other", comment: "Comment (optional)",
      reasonSend: "Send", skip: "Skip"
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
      interrupted: "답변이 중단되었습니다. 다시 시도해 주세요.",
      offer: "상담원과 연결해 드릴까요?",
      offer_asked_for_person: "상담원에게 연결해 드릴게요.",
      offer_frustration: "불편을 드려 죄송합니다. 고객지원팀 상담원이 이어서 도와드릴 수 있어요.",
      offer_repeated: "아직 원하시는 답을 드리지 못한 것 같아요. 상담원이 더 잘 도와드릴 수 있어요.",
      offer_not_covered: "도움말 문서에서 답을 찾지 못했어요. 고객지원팀 상담원이 도와드릴 수 있어요.",
      offer_thumbs_down: "도움이 되지 못해 죄송합니다. 상담원과 연결해 드릴까요?",
      note: "상담원이 알아야 할 내용이 있나요? (선택)",
      noteHint: "상담원이 지금까지의 대화 내용을 함께 봅니다.",
      handoffSend: "보내기", cancel: "취소", sending: "보내는 중…",
      created: (ref) => `상담 요청 ${ref}이(가) 접수되었습니다. 상담원이 이 채팅으로 답변드립니다.`,
      claimed: "상담원이 문의 내용을 확인하고 있습니다.",
      resolved: "상담원이 문의를 해결 완료로 처리했습니다.",
      agent: "상담원",
      storeDown: "지금은 상담 요청을 접수할 수 없습니다. 잠시 후 다시 시도하시거나 다음으로 연락해 주세요: ",
      storeDownNoContact: "지금은 상담 요청을 접수할 수 없습니다. 잠시 후 다시 시도해 주세요.",
      unknownConversation: "대화가 만료되었습니다. 먼저 질문을 다시 입력해 주세요.",
      reasonLegend: "어떤 점이 아쉬웠나요?", wrong: "틀린 답변", incomplete: "부족한 답변",
      not_my_question: "질문과 다른 답변", other: "기타", comment: "의견 (선택)",
      reasonSend: "보내기", skip: "건너뛰기"
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
      contact: d.contact, apiBase: d.api, handoffPoll: d.handoffPoll,
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
.offer,.reasons,.handoff-form{align-self:flex-start;max-width:92%;padding:10px 12px;border-radius:12px;background:#fff;border:1px solid #e2e6eb;white-space:normal;font-size:13px}
.offer{display:flex;flex-direction:column;align-items:flex-start;gap:8px;border-color:color-mix(in srgb,var(--a) 35%,#e2e6eb);background:color-mix(in srgb,var(--a) 6%,#fff)}
.offer p{font-weight:600}
.primary,.secondary{display:inline-flex;align-items:center;gap:6px;padding:6px 14px;border-radius:999px;font-size:13px;font-weight:600}
.primary{background:var(--a);color:var(--on-a)}
.primary svg{width:16px;height:16px}
.secondary{border:1px solid #cfd6de;color:#3d4852;background:#fff}
.primary:disabled,.secondary:disabled{opacity:.5}
.bot .reasons{margin-top:8px;max-width:none;padding:8px 0 0;border:0;border-top:1px solid #edf0f3;border-radius:0}
fieldset{border:0;min-width:0}
legend{font-weight:600;margin-bottom:4px}
.reason-list{display:flex;flex-wrap:wrap;gap:4px 6px}
.reason{display:inline-flex;align-items:center;gap:5px;padding:3px 9px;border:1px solid #cfd6de;border-radius:999px;cursor:pointer}
.reason:has(input:checked){border-color:var(--a);color:var(--a)}
.reason:focus-within{outline:2px solid var(--a);outline-offset:1px}
input[type=radio]{accent-color:var(--a);width:13px;height:13px}
.reasons label,.handoff-form label{display:block;font-weight:600}
.reasons .reason{display:inline-flex;font-weight:400}
.reasons textarea,.handoff-form textarea{display:block;width:100%;margin-top:4px;padding:6px 9px;border:1px solid #cfd6de;border-radius:8px;resize:vertical;background:#fff;line-height:1.4}
.reasons .reason-comment-label{margin-top:8px}
.reasons textarea:focus,.handoff-form textarea:focus{border-color:var(--a);outline:none;box-shadow:0 0 0 3px color-mix(in srgb,var(--a) 20%,transparent)}
.form-hint{color:#5b6672;font-size:12px}
.form-actions{display:flex;gap:6px;margin-top:8px}
.form-status:empty{display:none}
.form-status{margin-top:6px;font-size:12.5px;color:#5b6672}
.form-status.is-error{color:#a4262c}
.form-status a{color:var(--a)}
.sys{align-self:center;max-width:92%;padding:6px 12px;border-radius:10px;background:#eaf5ee;color:#1f5d36;font-size:12.5px;text-align:center;white-space:normal}
.agent{align-self:flex-start;background:#fff;border:1px solid #b9d8c4;border-left:4px solid #2f8f57;border-bottom-left-radius:5px}
.agent .who{display:block;font-size:11.5px;font-weight:700;color:#2f8f57;margin-bottom:2px}
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
    const s = {
      conversationId: null, lastContact: null, config: null, contactFromConfig: "", busy: false,
      isOpen: false, form: null, ticket: null, poller: null,
    };
    const pollSeconds = Number(o.handoffPoll);
    const pollMs = Number.isFinite(pollSeconds) && pollSeconds > 0 ? Math.max(0.5, pollSeconds) * 1000 : 10000;
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
      type: "button", class: "hand", "data-testid": "handoff",
      onclick: () => (s.conversationId ? openHandoffForm(null) : showContact()),
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
      if (s.poller) s.poller.now(); // news from the agent while the chat was closed
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
      if (!s.config) {
        s.config = fetchJson(`${apiBase}/api/config`, remote).catch(() => ({}));
        s.config.then((cfg) => (s.contactFromConfig = str(cfg && cfg.contact)));
      }
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

    function renderFeedback(msg, conversationId, answerId) {
      if (!conversationId) return;
      const row = h("div", { class: "fb" }, [h("span", { text: t.helpful })]);
      const send = (helpful, btn, why) => {
        up.disabled = down.disabled = true;
        btn.setAttribute("aria-pressed", "true");
        fetchJson(`${apiBase}/api/feedback`, {
          ...remote,
          method: "POST",
          json: feedbackBody(conversationId, answerId, helpful, why),
        }).then(
          (result) => {
            row.dataset.sent = "1";
            row.firstChild.textContent = "";
            row.appendChild(h("span", { "data-testid": "feedback-thanks", role: "status", text: t.thanks }));
            if (result && result.offer_handoff) showOffer(msg, "thumbs_down");
            if (why) {
              // The reasons form had the focus: hand it to the offer, if one came, else the input.
              const offer = msg.nextSibling;
              const button = offer && offer.classList && offer.classList.contains("offer") && offer.querySelector("button");
              (button || input).focus();
            }
          },
          () => {
            btn.setAttribute("aria-pressed", "false");
            up.disabled = down.disabled = false;
            row.firstChild.textContent = t.fbError;
          },
        );
      };
      // A thumbs down asks what went wrong first; Skip sends it without a reason.
      const askWhy = () => {
        up.disabled = down.disabled = true;
        down.setAttribute("aria-pressed", "true");
        const picker = reasonPicker(
          {
            legend: t.reasonLegend, comment: t.comment, send: t.reasonSend, skip: t.skip,
            wrong: t.wrong, incomplete: t.incomplete, not_my_question: t.not_my_question, other: t.other,
          },
          (why) => {
            picker.remove();
            send(false, down, why);
          },
        );
        row.after(picker);
        scrollDown();
        picker.querySelector("input").focus();
      };
      const up = h("button", {
        type: "button", class: "up", "data-testid": "thumbs-up", "aria-label": t.up, title: t.up,
        "aria-pressed": "false", onclick: () => send(true, up),
      }, [icon("up")]);
      const down = h("button", {
        type: "button", class: "dn", "data-testid": "thumbs-down", "aria-label": t.down, title: t.down,
        "aria-pressed": "false", onclick: askWhy,
      }, [icon("up")]);
      row.appendChild(up);
      row.appendChild(down);
      msg.appendChild(row);
    }

    // ---- hand-off ----------------------------------------------------------------------------

    // The offer of a person, as a card under the answer that led to it; the wording follows why.
    function showOffer(msg, reason) {
      if (s.ticket && s.ticket.status !== "resolved") return; // one open request at a time
      const key = reason === "not_covered_twice" ? "offer_not_covered" : `offer_${reason}`;
      const card = h("div", { class: "offer", "data-testid": "offer", role: "group", "aria-label": t.handoff }, [
        h("p", { text: t[key] || t.offer }),
        h("button", {
          type: "button", class: "primary", "data-testid": "offer-handoff",
          onclick: () => openHandoffForm(card),
        }, [icon("person"), t.handoff]),
      ]);
      const next = msg.nextSibling;
      if (next && next.classList && next.classList.contains("offer")) next.remove();
      msg.after(card);
      scrollDown();
    }

    // The form that creates a ticket: in place of the offer card, or at the end of the chat.
    function openHandoffForm(card) {
      if (s.ticket && s.ticket.status !== "resolved") {
        addNote(t.created(s.ticket.reference));
        return;
      }
      if (s.form) s.form.remove();
      const { form, focus } = handoffForm(
        { note: t.note, hint: t.noteHint, send: t.handoffSend, cancel: t.cancel, sending: t.sending },
        {
          send: (message) => createTicket(message, form, card),
          failed: handoffError,
          cancel: () => {
            form.remove();
            s.form = null;
            if (card) card.hidden = false;
            (card ? card.querySelector("button") : input).focus();
          },
        },
      );
      s.form = form;
      if (card) {
        card.hidden = true;
        card.after(form);
      } else {
        log.appendChild(form);
      }
      scrollDown();
      focus();
    }

    async function createTicket(message, form, card) {
      const json = { conversation_id: s.conversationId };
      const answers = log.querySelectorAll(".bot[data-answer-id]");
      if (answers.length) json.answer_id = answers[answers.length - 1].dataset.answerId;
      if (message) json.message = message;
      const ticket = await fetchJson(`${apiBase}/api/handoff`, { ...remote, method: "POST", json });
      s.ticket = { id: str(ticket.ticket_id), reference: str(ticket.reference), status: str(ticket.status) || "open" };
      form.remove();
      s.form = null;
      if (card) card.remove();
      for (const other of log.querySelectorAll(".offer")) other.remove();
      // Our own words, in the widget's language, rather than the server's message (the answer's).
      addNote(t.created(s.ticket.reference), "handoff-confirmation");
      watchTicket();
    }

    function handoffError(error) {
      const status = error && error.status;
      if (status === 404 || (error && error.code === "unknown_conversation")) return t.unknownConversation;
      if (status && status !== 503 && status !== 502 && status !== 504) return friendlyError(status, error.code);
      const contact = s.lastContact || s.contactFromConfig || str(o.contact);
      if (!contact) return t.storeDownNoContact;
      return h("span", {}, [t.storeDown, sourceLink(contact, contact, link)]);
    }

    // The agent's replies, and the ticket's claim and resolution, as they come.
    function watchTicket() {
      if (s.poller) s.poller.stop();
      const ticket = s.ticket;
      s.poller = handoffPoller({
        base: apiBase, ticketId: ticket.id, conversationId: s.conversationId, intervalMs: pollMs,
        init: remote, active: () => s.isOpen,
        onUpdate: (news, replies) => {
          for (const reply of replies) addAgentMessage(reply.text);
          const status = str(news.status);
          if (status === ticket.status) return;
          ticket.status = status;
          if (status === "claimed") addNote(t.claimed);
          if (status === "resolved") addNote(t.resolved);
        },
      });
    }

    function addNote(text, testid) {
      const note = h("div", { class: "sys", "data-testid": testid || "note", text });
      log.appendChild(note);
      scrollDown();
    }

    function addAgentMessage(text) {
      const msg = h("div", { class: "msg agent", "data-testid": "agent-reply" }, [
        h("span", { class: "who", text: t.agent }),
        h("div", { class: "text", text }),
      ]);
      log.appendChild(msg);
      scrollDown();
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

      const body = { question, surface: "widget" };
      // The customer's context ranks their product first and may tailor the answer to their
      // plan; it never filters (a top-level "product" would).
      const context = {};
      const locale = str(o.locale) || lang;
      if (/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/.test(locale)) body.locale = context.locale = locale;
      if (str(o.product)) context.product = str(o.product).slice(0, 64);
      if (str(o.plan)) context.plan = str(o.plan).slice(0, 64);
      if (str(o.customerId)) context.customer_id = str(o.customerId).slice(0, 64);
      if (Object.keys(context).length) body.context = context;
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
        if (str(answer.answer_id)) msg.dataset.answerId = str(answer.answer_id);
        if (answer.handoff && answer.contact) s.lastContact = str(answer.contact);
        renderText(textEl, answer.answer, byId);
        renderSources(msg, answer.citations, byId);
        if (answer.language === "ko" || answer.language === "en") msg.setAttribute("lang", answer.language);
        foot.classList.toggle("prom", !!answer.handoff);
        if (answer.handoff) {
          msg.classList.add("handoff-ans");
          showContact();
        }
        renderFeedback(msg, s.conversationId, str(answer.answer_id));
        // A person is offered when the escalation rules fired, and for what the articles don't cover.
        const escalation = escalationOffer(answer);
        if (s.conversationId && (escalation.offer || answer.handoff)) {
          showOffer(msg, escalation.offer ? escalation.reason : "not_covered");
        }
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
