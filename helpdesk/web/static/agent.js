/* Nimbus Home agents' console: search public and internal articles, draft cited answers.
 *
 * Plain ES2017; the toolkit it shares with help.js and the widget comes from common.js (Helpdesk),
 * loaded first. All document and model text goes in with textContent / createTextNode; only
 * http(s) or site-relative URLs become links.
 */
(() => {
  "use strict";

  const {
    makeTranslator,
    translatePage,
    initialLanguage,
    rememberLanguage,
    el,
    clear,
    safeHref,
    sourceLink,
    appendResultBody,
    whenReady,
    productLabel: labelIn,
    fillProductSelect,
    fetchJson,
    latestRequest,
    renderCitations,
  } = Helpdesk;

  const SEARCH_K = 20;

  const STRINGS = {
    en: {
      pageTitle: "Agent console · Nimbus Home",
      brand: "Nimbus Home",
      console: "Agent console",
      uiLanguage: "Language",
      queryLabel: "Search or question",
      queryPlaceholder: "Search the knowledge base or ask a question",
      search: "Search",
      ask: "Ask",
      product: "Product",
      allProducts: "All products",
      language: "Language",
      allLanguages: "All",
      langEn: "English",
      langKo: "Korean",
      audience: "Audience",
      audienceAll: "All",
      audiencePublic: "Public",
      audienceInternal: "Internal",
      queryHint: "Enter searches · Ctrl+Enter asks",
      results: "Results",
      resultsIdle: "Search to see matching passages, public and internal.",
      resultsCount: (n) => (n === 1 ? "1 result" : `${n} results`),
      noResults: "No matching passages. Try other words or widen the filters.",
      searching: "Searching…",
      answer: "Answer",
      answerIdle: "Ask to get a cited draft answer you can paste into your reply.",
      asking: "Writing…",
      question: "Q:",
      citations: "Citations",
      copyAnswer: "Copy answer with sources",
      copied: "Copied",
      copyFailed: "Couldn't copy: the browser refused access to the clipboard. Select the text and copy it by hand.",
      copyLink: "Copy link",
      linkCopied: "Link copied",
      copyLinkFailed: "Couldn't copy",
      grounded: "Grounded in the articles",
      notGrounded: "Not grounded",
      confidence: (p) => `Confidence ${p}%`,
      generatedBy: (g) => `Written by: ${g}`,
      handoff: "Not covered by the knowledge base. Offer the customer a hand-off:",
      handoffNoContact: "Not covered by the knowledge base. Offer the customer a hand-off.",
      badgeInternal: "Internal only: do not share with customers",
      badgePublic: "Public: safe to share with customers",
      source: "Source file",
      emptyQuery: "Type a search or a question first.",
      error401: "You're not signed in (401). Reload the page and sign in with your agent key.",
      error403: "Access denied (403). Your agent key was refused, or the agents' console is turned off.",
      errorOther: (s) => `The request failed (${s}).`,
      errorNetwork: "The server can't be reached. Check your connection and try again.",
      configFailed: "The product list couldn't be loaded.",
      newTab: "(opens in a new tab)",
      lang_en: "EN",
      lang_ko: "KO",
    },
    ko: {
      pageTitle: "상담원 콘솔 · 님버스 홈",
      brand: "님버스 홈",
      console: "상담원 콘솔",
      uiLanguage: "언어",
      queryLabel: "검색어 또는 질문",
      queryPlaceholder: "지식 베이스를 검색하거나 질문을 입력하세요",
      search: "검색",
      ask: "질문",
      product: "제품",
      allProducts: "모든 제품",
      language: "언어",
      allLanguages: "전체",
      langEn: "영어",
      langKo: "한국어",
      audience: "공개 범위",
      audienceAll: "전체",
      audiencePublic: "공개",
      audienceInternal: "내부",
      queryHint: "Enter: 검색 · Ctrl+Enter: 질문",
      results: "검색 결과",
      resultsIdle: "검색하면 공개 문서와 내부 문서에서 일치하는 내용을 보여 줍니다.",
      resultsCount: (n) => `${n}건`,
      noResults: "일치하는 내용이 없습니다. 다른 단어로 검색하거나 필터를 넓혀 보세요.",
      searching: "검색 중…",
      answer: "답변",
      answerIdle: "질문하면 고객 답장에 붙여 넣을 수 있는 출처 포함 답변 초안을 만듭니다.",
      asking: "작성 중…",
      question: "질문:",
      citations: "출처",
      copyAnswer: "출처와 함께 답변 복사",
      copied: "복사됨",
      copyFailed: "복사하지 못했습니다. 브라우저가 클립보드 접근을 거부했습니다. 텍스트를 직접 선택해 복사해 주세요.",
      copyLink: "링크 복사",
      linkCopied: "링크 복사됨",
      copyLinkFailed: "복사 실패",
      grounded: "문서 근거 있음",
      notGrounded: "근거 없음",
      confidence: (p) => `신뢰도 ${p}%`,
      generatedBy: (g) => `작성 방식: ${g}`,
      handoff: "지식 베이스에서 다루지 않는 내용입니다. 고객에게 상담 연결을 안내하세요:",
      handoffNoContact: "지식 베이스에서 다루지 않는 내용입니다. 고객에게 상담 연결을 안내하세요.",
      badgeInternal: "내부 전용: 고객에게 공유하지 마세요",
      badgePublic: "공개: 고객에게 공유해도 됩니다",
      source: "원본 파일",
      emptyQuery: "먼저 검색어나 질문을 입력해 주세요.",
      error401: "로그인되어 있지 않습니다(401). 페이지를 새로 고치고 상담원 키로 로그인해 주세요.",
      error403: "접근이 거부되었습니다(403). 상담원 키가 올바르지 않거나 상담원 콘솔이 꺼져 있습니다.",
      errorOther: (s) => `요청이 실패했습니다(${s}).`,
      errorNetwork: "서버에 연결할 수 없습니다. 연결 상태를 확인하고 다시 시도해 주세요.",
      configFailed: "제품 목록을 불러오지 못했습니다.",
      newTab: "(새 탭에서 열림)",
      lang_en: "EN",
      lang_ko: "KO",
    },
  };

  // ---------------------------------------------------------------- helpers

  const $ = (id) => document.getElementById(id);

  const els = {
    langSwitch: $("lang-switch"),
    form: $("agent-form"),
    query: $("agent-query"),
    searchButton: $("agent-search"),
    askButton: $("agent-ask"),
    product: $("filter-product"),
    language: $("filter-language"),
    audience: $("filter-audience"),
    error: $("agent-error"),
    results: $("agent-results"),
    resultsCount: $("agent-results-count"),
    resultsEmpty: $("agent-results-empty"),
    answer: $("agent-answer"),
    answerStatus: $("agent-answer-status"),
    answerEmpty: $("agent-answer-empty"),
    answerQuestion: $("agent-answer-question"),
    answerMeta: $("agent-answer-meta"),
    handoff: $("agent-handoff"),
    citationsBlock: $("agent-citations-block"),
    citations: $("agent-citations"),
    actions: $("agent-answer-actions"),
    copyButton: $("copy-answer"),
    copyStatus: $("copy-status"),
  };
  els.answerText = els.answer ? els.answer.querySelector(".answer-text") : null;

  const state = {
    lang: "en",
    products: [],
    searchRequest: latestRequest(),
    askRequest: latestRequest(),
    lastSearch: null, // {results}
    lastAnswer: null, // {question, body}
    searching: false,
    asking: false,
    error: null, // {kind, status, detail}
    copyTimer: 0,
  };

  const t = makeTranslator(STRINGS, () => state.lang);

  const productLabel = (product) => labelIn(product, state.lang);

  /** Anything not explicitly "public" is shown as internal: never under-warn an agent. */
  function audienceOf(item) {
    return item && item.audience === "public" ? "public" : "internal";
  }

  function badge(audience) {
    const node = el("span", `badge badge-${audience}`, audience);
    node.title = audience === "internal" ? t("badgeInternal") : t("badgePublic");
    return node;
  }

  // ---------------------------------------------------------------- errors

  function showError(error) {
    if (!error) {
      state.error = null;
    } else if (error.status) {
      state.error = { status: error.status, detail: error.detail || "" };
    } else {
      state.error = { status: 0, detail: "" };
    }
    renderError();
  }

  function renderError() {
    const error = state.error;
    if (!error) {
      els.error.hidden = true;
      els.error.textContent = "";
      return;
    }
    let message;
    if (error.message) message = t(error.message);
    else if (error.status === 401) message = t("error401");
    else if (error.status === 403) message = t("error403");
    else if (error.status) message = t("errorOther", error.status);
    else message = t("errorNetwork");
    clear(els.error);
    els.error.appendChild(el("strong", "", message));
    if (error.detail) els.error.appendChild(el("span", "alert-detail", error.detail));
    els.error.hidden = false;
  }

  function showMessage(key) {
    state.error = { message: key };
    renderError();
  }

  // ---------------------------------------------------------------- language

  function applyStrings() {
    document.documentElement.lang = state.lang;
    document.title = t("pageTitle");
    els.langSwitch.value = state.lang;
    translatePage(t);
    renderProducts();
    renderError();
    if (state.lastSearch) renderResults(state.lastSearch.results);
    if (state.lastAnswer) renderAnswer(state.lastAnswer.question, state.lastAnswer.body);
    renderStatuses();
  }

  // ---------------------------------------------------------------- config

  function renderProducts() {
    fillProductSelect(els.product, state.products, productLabel);
  }

  async function loadConfig() {
    try {
      const body = await fetchJson("/api/agent/config", { credentials: "same-origin" });
      state.products = Array.isArray(body.products) ? body.products : [];
      renderProducts();
    } catch (error) {
      if (error && (error.status === 401 || error.status === 403)) showError(error);
      else showMessage("configFailed");
    }
  }

  // ---------------------------------------------------------------- search

  function filters() {
    const params = {};
    if (els.product.value) params.product = els.product.value;
    if (els.language.value) params.language = els.language.value;
    params.audience = els.audience.value || "all";
    return params;
  }

  function renderStatuses() {
    els.answerStatus.textContent = state.asking ? t("asking") : "";
    if (state.searching) els.resultsCount.textContent = t("searching");
    else if (state.lastSearch) els.resultsCount.textContent = t("resultsCount", state.lastSearch.results.length);
    else els.resultsCount.textContent = "";
  }

  async function search() {
    const query = els.query.value.trim();
    if (!query) {
      showMessage("emptyQuery");
      els.query.focus();
      return;
    }
    const params = new URLSearchParams({ q: query, k: String(SEARCH_K), ...filters() });
    const request = (signal) => fetchJson(`/api/agent/search?${params}`, { signal, credentials: "same-origin" });
    state.searching = true;
    renderStatuses();
    els.results.setAttribute("aria-busy", "true");
    await state.searchRequest.run(request, {
      done(body) {
        showError(null);
        renderResults(Array.isArray(body.results) ? body.results : []);
      },
      failed: showError,
      settled() {
        state.searching = false;
        els.results.setAttribute("aria-busy", "false");
        renderStatuses();
      },
    });
  }

  function renderResults(results) {
    state.lastSearch = { results };
    clear(els.results);
    results.forEach((result) => els.results.appendChild(resultItem(result)));
    els.resultsEmpty.hidden = false;
    if (results.length) els.resultsEmpty.hidden = true;
    else els.resultsEmpty.textContent = t("noResults");
    renderStatuses();
  }

  function resultItem(result) {
    const audience = audienceOf(result);
    const item = el("li", `result result-${audience}`);
    if (result.language === "en" || result.language === "ko") item.lang = result.language;

    const head = el("div", "result-head");
    head.appendChild(badge(audience));
    head.appendChild(sourceLink(result.title || result.url || "", result.url, { className: "result-title" }));
    if (result.language === "en" || result.language === "ko") {
      head.appendChild(el("span", "tag", t(`lang_${result.language}`)));
    }
    if (result.product) {
      const tag = el("span", "tag tag-product", productLabel(result.product));
      tag.lang = state.lang;
      head.appendChild(tag);
    }
    item.appendChild(head);

    appendResultBody(item, result);

    const foot = el("div", "result-foot");
    if (typeof result.source === "string" && result.source) {
      const source = el("code", "result-source", result.source);
      source.title = t("source");
      foot.appendChild(source);
    }
    const href = safeHref(result.url);
    if (href) {
      const button = el("button", "link-button copy-link", t("copyLink"));
      button.type = "button";
      button.dataset.url = new URL(href, window.location.href).href;
      foot.appendChild(button);
    }
    if (foot.firstChild) item.appendChild(foot);
    return item;
  }

  // ---------------------------------------------------------------- ask

  async function ask() {
    const question = els.query.value.trim();
    if (!question) {
      showMessage("emptyQuery");
      els.query.focus();
      return;
    }
    const json = { question, ...filters() };
    const request = (signal) =>
      fetchJson("/api/agent/ask", { method: "POST", json, signal, credentials: "same-origin" });
    state.asking = true;
    renderStatuses();
    els.answer.setAttribute("aria-busy", "true");
    els.askButton.disabled = true;
    await state.askRequest.run(request, {
      done(body) {
        showError(null);
        state.lastAnswer = { question, body };
        renderAnswer(question, body);
      },
      failed: showError,
      settled() {
        state.asking = false;
        els.askButton.disabled = false;
        els.answer.setAttribute("aria-busy", "false");
        renderStatuses();
      },
    });
  }

  function renderAnswer(question, body) {
    els.answerEmpty.hidden = true;

    clear(els.answerQuestion);
    els.answerQuestion.appendChild(el("span", "answer-question-label", t("question")));
    els.answerQuestion.appendChild(document.createTextNode(` ${question}`));
    els.answerQuestion.hidden = false;

    clear(els.answerMeta);
    const meta = [];
    meta.push([body.grounded ? t("grounded") : t("notGrounded"), body.grounded ? "chip chip-ok" : "chip chip-warn"]);
    if (typeof body.confidence === "number" && Number.isFinite(body.confidence)) {
      meta.push([t("confidence", Math.round(Math.max(0, Math.min(1, body.confidence)) * 100)), "chip"]);
    }
    if (typeof body.generated_by === "string" && body.generated_by) {
      meta.push([t("generatedBy", body.generated_by), "chip"]);
    }
    for (const [text, className] of meta) els.answerMeta.appendChild(el("span", className, text));
    els.answerMeta.hidden = false;

    els.answerText.textContent = typeof body.answer === "string" ? body.answer : "";
    if (body.language === "en" || body.language === "ko") els.answerText.lang = body.language;
    else els.answerText.removeAttribute("lang");

    clear(els.handoff);
    if (body.handoff) {
      const contact = typeof body.contact === "string" ? body.contact.trim() : "";
      els.handoff.appendChild(el("span", "", contact ? t("handoff") : t("handoffNoContact")));
      if (contact) {
        els.handoff.appendChild(document.createTextNode(" "));
        els.handoff.appendChild(el("strong", "handoff-contact", contact));
      }
    }
    els.handoff.hidden = !body.handoff;

    const shown = renderCitations(els.citations, body.citations, {
      decorate(item, citation) {
        item.appendChild(document.createTextNode(" "));
        item.appendChild(badge(audienceOf(citation)));
        if (typeof citation.source === "string" && citation.source) {
          item.appendChild(el("code", "citation-source", citation.source));
        }
      },
    });
    els.citationsBlock.hidden = shown.size === 0;

    els.actions.hidden = false;
    els.copyStatus.textContent = "";
    els.copyStatus.className = "copy-status";
  }

  /** "answer\n\n[1] Title <url>\n[2] ..." for pasting into a reply. */
  function answerForClipboard() {
    if (!state.lastAnswer) return "";
    const body = state.lastAnswer.body;
    const text = typeof body.answer === "string" ? body.answer.trim() : "";
    const citations = Array.isArray(body.citations) ? body.citations.filter((c) => c && typeof c === "object") : [];
    if (!citations.length) return text;
    const lines = citations.map((c, index) => {
      const id = Number.isInteger(c.id) ? c.id : index + 1;
      const url = typeof c.url === "string" && c.url ? ` <${c.url}>` : "";
      return `[${id}] ${c.title || ""}${url}`;
    });
    return `${text}\n\n${lines.join("\n")}`;
  }

  async function writeClipboard(text) {
    if (navigator.clipboard && typeof navigator.clipboard.writeText === "function") {
      await navigator.clipboard.writeText(text);
      return;
    }
    // Pages served over plain http (not localhost) have no async clipboard: the old way.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "clipboard-helper";
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } finally {
      area.remove();
    }
    if (!ok) throw new Error("copy refused");
  }

  async function copyAnswer() {
    window.clearTimeout(state.copyTimer);
    els.copyStatus.className = "copy-status";
    els.copyStatus.textContent = "";
    try {
      await writeClipboard(answerForClipboard());
      els.copyStatus.textContent = t("copied");
      els.copyStatus.classList.add("is-ok");
      state.copyTimer = window.setTimeout(() => {
        els.copyStatus.textContent = "";
        els.copyStatus.classList.remove("is-ok");
      }, 4000);
    } catch (_) {
      els.copyStatus.textContent = t("copyFailed");
      els.copyStatus.classList.add("is-error");
    }
  }

  async function copyLink(button) {
    const label = t("copyLink");
    try {
      await writeClipboard(button.dataset.url || "");
      button.textContent = t("linkCopied");
      button.classList.add("is-ok");
    } catch (_) {
      button.textContent = t("copyLinkFailed");
      button.classList.add("is-error");
    }
    window.setTimeout(() => {
      button.textContent = label;
      button.classList.remove("is-ok", "is-error");
    }, 2500);
  }

  // ---------------------------------------------------------------- wiring

  function init() {
    if (!els.form || !els.answerText) return;
    state.lang = initialLanguage();
    applyStrings();

    els.langSwitch.addEventListener("change", () => {
      state.lang = els.langSwitch.value === "ko" ? "ko" : "en";
      rememberLanguage(state.lang);
      applyStrings();
    });

    els.form.addEventListener("submit", (event) => {
      event.preventDefault();
      search();
    });
    els.askButton.addEventListener("click", ask);
    els.query.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !event.isComposing) {
        event.preventDefault();
        ask();
      }
    });
    const rerun = () => {
      if (els.query.value.trim() && state.lastSearch) search();
    };
    els.product.addEventListener("change", rerun);
    els.language.addEventListener("change", rerun);
    els.audience.addEventListener("change", rerun);
    els.copyButton.addEventListener("click", copyAnswer);
    els.results.addEventListener("click", (event) => {
      const button = event.target.closest("button.copy-link");
      if (button) copyLink(button);
    });

    loadConfig();
    els.query.focus();
  }

  whenReady(init);
})();
