/* Nimbus Home Help Center: search as you type, and streamed, cited answers.
 *
 * Plain ES2017; the shared toolkit comes from common.js (Helpdesk), loaded first.
 * Every piece of document or model text is inserted with textContent / createTextNode; only
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
    appendHighlighted,
    headingPath,
    appendResultBody,
    whenReady,
    productLabel: labelIn,
    fillProductSelect,
    fetchJson,
    latestRequest,
    fetchEvents,
    renderCitations: renderCitationList,
    escalationOffer,
    reasonPicker,
    feedbackBody,
    handoffForm,
    handoffPoller,
  } = Helpdesk;

  const HANDOFF_POLL_MS = 10000;

  const DEBOUNCE_MS = 200;
  const SEARCH_K = 10;

  const STRINGS = {
    en: {
      pageTitle: "Nimbus Home Help Center",
      skip: "Skip to content",
      brand: "Nimbus Home Help Center",
      uiLanguage: "Display language",
      heroTitle: "How can we help?",
      heroLead: "Search our guides and FAQs, or ask a question in your own words, in English or Korean.",
      modesLabel: "Help mode",
      modeSearch: "Search",
      modeAsk: "Ask a question",
      searchLabel: "Search the help center",
      searchPlaceholder: "Search, e.g. reset speaker",
      searchHint: "Tip: press ↓ to move through the results, Enter to open one, Esc to come back.",
      filterLanguage: "Language",
      allLanguages: "All languages",
      langEn: "English",
      langKo: "Korean",
      filterProduct: "Product",
      allProducts: "All products",
      resultsLabel: "Search results",
      resultsCount: (n) => (n === 1 ? "1 result" : `${n} results`),
      correctedTo: (q) => `showing results for “${q}”`,
      noResultsShort: "No results",
      noResults: (q) => `No results for “${q}”`,
      noResultsHelp: "Try other words, check the spelling, or ask a question instead.",
      askInstead: "Ask a question instead",
      searchError: "Search isn't available right now. Please try again in a moment.",
      lang_en: "English",
      lang_ko: "Korean",
      askLabel: "Your question",
      askPlaceholder: "e.g. How long is the warranty?",
      askSubmit: "Ask",
      askHint: "Answers are written from our help articles and link to their sources. Press Enter to send, Shift+Enter for a new line.",
      answerLabel: "Answer",
      youAsked: "You asked:",
      statusSearching: "Searching…",
      statusWriting: "Writing…",
      sourcesTitle: "Sources",
      handoffTitle: "Talk to a person",
      handoffText: "We couldn't find a confident answer in our help articles, and we'd rather not guess. Our support team is happy to help:",
      helpfulQuestion: "Was this answer helpful?",
      yes: "Yes",
      no: "No",
      feedbackThanks: "Thanks for your feedback!",
      feedbackError: "Sorry, we couldn't save your feedback.",
      newConversation: "Start a new conversation",
      askError: "Sorry, we couldn't get an answer right now. Please try again in a moment.",
      askEmpty: "Please type a question first.",
      interrupted: "The answer was interrupted, so it may be incomplete. Please try again.",
      topicsTitle: "Popular topics",
      contactTitle: "Still need help?",
      contactText: "Our support team is happy to help with anything the articles don't cover.",
      footer: "© Nimbus Home. Answers come from our published help articles.",
      newTab: "(opens in a new tab)",
      talkToPerson: "Talk to a person",
      offer: "Would you like to talk to a person?",
      offer_asked_for_person: "I'll connect you with a person from our support team.",
      offer_frustration: "Sorry this has been frustrating. A person from our support team can take it from here.",
      offer_repeated: "It looks like we haven't answered this yet. A person from our support team may help better.",
      offer_not_covered: "A person from our support team can look into this for you.",
      offer_thumbs_down: "Sorry that didn't help. Would you like to talk to a person?",
      handoffNote: "Anything the agent should know? (optional)",
      handoffHint: "The agent will see this conversation.",
      handoffSend: "Send to an agent",
      cancel: "Cancel",
      sending: "Sending…",
      threadTitle: "Your request to our support team",
      created: (ref) => `Ticket ${ref} created. A support agent will reply here.`,
      claimed: (ref) => `Ticket ${ref}: a support agent is looking at your request.`,
      resolved: (ref) => `Ticket ${ref} is resolved.`,
      agent: "Support agent",
      storeDown: "We couldn't create your request just now. Please try again in a moment, or contact us:",
      storeDownNoContact: "We couldn't create your request just now. Please try again in a moment.",
      unknownConversation: "This conversation has expired. Please ask your question again first.",
      handoffError: "Sorry, we couldn't create your request. Please try again.",
      reasonLegend: "What went wrong?",
      wrong: "Wrong answer",
      incomplete: "Incomplete",
      not_my_question: "Not my question",
      other: "Other",
      reasonComment: "Comment (optional)",
      reasonSend: "Send",
      skip: "Skip",
      topics: [
        ["Reset the Aura Speaker", "reset speaker"],
        ["Warranty", "warranty"],
        ["Returns and refunds", "return refund"],
        ["Shipping and delivery", "shipping delivery"],
        ["Set up Lumo Cam", "Lumo Cam setup"],
        ["Nimbus Care plans", "Nimbus Care plans"],
        ["Wi-Fi connection problems", "Wi-Fi connection"],
        ["Privacy and your data", "privacy data"],
      ],
    },
    ko: {
      pageTitle: "님버스 홈 고객센터",
      skip: "본문으로 건너뛰기",
      brand: "님버스 홈 고객센터",
      uiLanguage: "표시 언어",
      heroTitle: "무엇을 도와드릴까요?",
      heroLead: "설명서와 자주 묻는 질문을 검색하거나, 궁금한 점을 편하게 물어보세요. 한국어와 영어 모두 가능합니다.",
      modesLabel: "도움말 방식",
      modeSearch: "검색",
      modeAsk: "질문하기",
      searchLabel: "고객센터 검색",
      searchPlaceholder: "검색어 입력 (예: 스피커 초기화)",
      searchHint: "팁: ↓ 키로 결과 사이를 이동하고, Enter로 열고, Esc로 검색창에 돌아옵니다.",
      filterLanguage: "언어",
      allLanguages: "모든 언어",
      langEn: "영어",
      langKo: "한국어",
      filterProduct: "제품",
      allProducts: "모든 제품",
      resultsLabel: "검색 결과",
      resultsCount: (n) => `검색 결과 ${n}건`,
      correctedTo: (q) => `“${q}”(으)로 검색한 결과`,
      noResultsShort: "검색 결과 없음",
      noResults: (q) => `“${q}”에 대한 검색 결과가 없습니다`,
      noResultsHelp: "다른 단어로 검색하거나 맞춤법을 확인해 보세요. 질문으로 물어보셔도 됩니다.",
      askInstead: "질문으로 물어보기",
      searchError: "지금은 검색할 수 없습니다. 잠시 후 다시 시도해 주세요.",
      lang_en: "영어",
      lang_ko: "한국어",
      askLabel: "질문",
      askPlaceholder: "예: 보증 기간은 얼마나 되나요?",
      askSubmit: "보내기",
      askHint: "답변은 도움말 문서를 바탕으로 작성되며 출처가 함께 표시됩니다. Enter로 보내고 Shift+Enter로 줄을 바꿉니다.",
      answerLabel: "답변",
      youAsked: "질문:",
      statusSearching: "찾는 중…",
      statusWriting: "작성 중…",
      sourcesTitle: "출처",
      handoffTitle: "상담원 연결",
      handoffText: "도움말 문서에서 확실한 답을 찾지 못했습니다. 추측으로 답하기보다는 고객지원팀이 직접 도와드리겠습니다:",
      helpfulQuestion: "이 답변이 도움이 되었나요?",
      yes: "예",
      no: "아니요",
      feedbackThanks: "의견을 보내 주셔서 감사합니다!",
      feedbackError: "죄송합니다. 의견을 저장하지 못했습니다.",
      newConversation: "새 대화 시작",
      askError: "죄송합니다. 지금은 답변을 가져올 수 없습니다. 잠시 후 다시 시도해 주세요.",
      askEmpty: "먼저 질문을 입력해 주세요.",
      interrupted: "답변이 중간에 끊겨 내용이 완전하지 않을 수 있습니다. 다시 시도해 주세요.",
      topicsTitle: "자주 찾는 주제",
      contactTitle: "도움이 더 필요하신가요?",
      contactText: "도움말에서 다루지 않는 내용은 고객지원팀이 도와드립니다.",
      footer: "© Nimbus Home. 답변은 공개된 도움말 문서를 바탕으로 작성됩니다.",
      newTab: "(새 탭에서 열림)",
      talkToPerson: "상담원 연결",
      offer: "상담원과 연결해 드릴까요?",
      offer_asked_for_person: "고객지원팀 상담원에게 연결해 드릴게요.",
      offer_frustration: "불편을 드려 죄송합니다. 고객지원팀 상담원이 이어서 도와드릴 수 있어요.",
      offer_repeated: "아직 원하시는 답을 드리지 못한 것 같아요. 상담원이 더 잘 도와드릴 수 있어요.",
      offer_not_covered: "고객지원팀 상담원이 직접 확인해 드릴 수 있어요.",
      offer_thumbs_down: "도움이 되지 못해 죄송합니다. 상담원과 연결해 드릴까요?",
      handoffNote: "상담원이 알아야 할 내용이 있나요? (선택)",
      handoffHint: "상담원이 지금까지의 대화 내용을 함께 봅니다.",
      handoffSend: "상담원에게 보내기",
      cancel: "취소",
      sending: "보내는 중…",
      threadTitle: "고객지원팀 상담 요청",
      created: (ref) => `상담 요청 ${ref}이(가) 접수되었습니다. 상담원이 여기에서 답변드립니다.`,
      claimed: (ref) => `상담 요청 ${ref}: 상담원이 문의 내용을 확인하고 있습니다.`,
      resolved: (ref) => `상담 요청 ${ref}이(가) 해결 완료되었습니다.`,
      agent: "상담원",
      storeDown: "지금은 상담 요청을 접수할 수 없습니다. 잠시 후 다시 시도하시거나 다음으로 연락해 주세요:",
      storeDownNoContact: "지금은 상담 요청을 접수할 수 없습니다. 잠시 후 다시 시도해 주세요.",
      unknownConversation: "대화가 만료되었습니다. 먼저 질문을 다시 입력해 주세요.",
      handoffError: "죄송합니다. 상담 요청을 접수하지 못했습니다. 다시 시도해 주세요.",
      reasonLegend: "어떤 점이 아쉬웠나요?",
      wrong: "틀린 답변",
      incomplete: "부족한 답변",
      not_my_question: "질문과 다른 답변",
      other: "기타",
      reasonComment: "의견 (선택)",
      reasonSend: "보내기",
      skip: "건너뛰기",
      topics: [
        ["아우라 스피커 초기화", "스피커 초기화"],
        ["보증 기간", "보증 기간"],
        ["반품 및 환불", "반품 환불"],
        ["배송 안내", "배송"],
        ["루모 캠 설정", "루모 캠 설정"],
        ["님버스 케어 요금제", "님버스 케어 요금제"],
        ["Wi-Fi 연결 문제", "Wi-Fi 연결"],
        ["개인정보 및 데이터", "개인정보"],
      ],
    },
  };

  // ---------------------------------------------------------------- helpers

  const $ = (id) => document.getElementById(id);

  const els = {
    langSwitch: $("lang-switch"),
    tabSearch: $("mode-search"),
    tabAsk: $("mode-ask"),
    panelSearch: $("panel-search"),
    panelAsk: $("panel-ask"),
    searchForm: $("search-form"),
    searchInput: $("search-input"),
    searchSpinner: $("search-spinner"),
    searchLanguage: $("search-language"),
    searchProduct: $("search-product"),
    productFilter: $("product-filter"),
    resultsCount: $("results-count"),
    results: $("results"),
    resultsEmpty: $("results-empty"),
    resultsEmptyTitle: $("results-empty-title"),
    searchError: $("search-error"),
    askInstead: $("ask-instead"),
    askForm: $("ask-form"),
    askInput: $("ask-input"),
    askSubmit: $("ask-submit"),
    answer: $("answer"),
    answerQuestion: $("answer-question"),
    answerStatus: $("answer-status"),
    answerError: $("answer-error"),
    citationsBlock: $("citations-block"),
    citations: $("citations"),
    handoff: $("handoff"),
    handoffContact: $("handoff-contact"),
    answerFooter: $("answer-footer"),
    feedbackYes: $("feedback-yes"),
    feedbackNo: $("feedback-no"),
    feedbackStatus: $("feedback-status"),
    askReset: $("ask-reset"),
    escalation: $("escalation"),
    escalationText: $("escalation-text"),
    escalationButton: $("escalation-button"),
    feedbackReasons: $("feedback-reasons"),
    thread: $("handoff-thread"),
    confirmation: $("handoff-confirmation"),
    agentReplies: $("agent-replies"),
    topics: $("topics"),
    contactValue: $("contact-value"),
  };
  els.answerText = els.answer ? els.answer.querySelector(".answer-text") : null;

  const state = {
    lang: "en",
    mode: "search",
    searchTimer: 0,
    search: latestRequest(),
    lastSearch: null, // {query, results}
    searchFailed: false,
    asking: latestRequest(),
    answerPhase: "idle", // idle | searching | writing | done
    conversationId: null,
    answerId: "",
    offerReason: null, // why a person is offered for the answer shown (null: not offered)
    handoffForm: null,
    ticket: null, // {id, reference, status}
    replies: [], // the agent's replies shown, [{text, at}]
    poller: null,
    contact: "",
    products: [],
  };

  const t = makeTranslator(STRINGS, () => state.lang);

  const productLabel = (product) => labelIn(product, state.lang);

  /** A friendly message, plus the server's explanation for a request it refused. */
  function errorText(friendly, error) {
    if (error && error.status >= 400 && error.status < 500 && error.detail) {
      return `${friendly} (${error.detail})`;
    }
    return friendly;
  }

  // ---------------------------------------------------------------- language

  function setLanguage(lang, remember) {
    state.lang = lang === "ko" ? "ko" : "en";
    if (remember) rememberLanguage(state.lang);
    applyStrings();
  }

  function applyStrings() {
    document.documentElement.lang = state.lang;
    document.title = t("pageTitle");
    if (els.langSwitch) els.langSwitch.value = state.lang;
    translatePage(t);
    renderTopics();
    renderProducts();
    renderContact();
    if (state.lastSearch) {
      const { query, results, corrected } = state.lastSearch;
      renderResults(query, results, true, corrected);
    }
    if (state.searchFailed) els.searchError.textContent = t("searchError");
    renderStatus();
    if (els.answerQuestion.dataset.question) renderQuestion(els.answerQuestion.dataset.question);
    renderOffer();
    renderThread();
  }

  // ---------------------------------------------------------------- modes (tabs)

  function setMode(mode, focusTab) {
    state.mode = mode === "ask" ? "ask" : "search";
    const isAsk = state.mode === "ask";
    els.tabSearch.setAttribute("aria-selected", String(!isAsk));
    els.tabAsk.setAttribute("aria-selected", String(isAsk));
    els.tabSearch.tabIndex = isAsk ? -1 : 0;
    els.tabAsk.tabIndex = isAsk ? 0 : -1;
    els.panelSearch.hidden = isAsk;
    els.panelAsk.hidden = !isAsk;
    if (focusTab) (isAsk ? els.tabAsk : els.tabSearch).focus();
    updateAddress();
  }

  function onTabKeydown(event) {
    const keys = { ArrowLeft: "prev", ArrowRight: "next", Home: "first", End: "last" };
    const move = keys[event.key];
    if (!move) return;
    event.preventDefault();
    let target;
    if (move === "first") target = "search";
    else if (move === "last") target = "ask";
    else target = state.mode === "search" ? "ask" : "search";
    setMode(target, true);
  }

  function updateAddress() {
    if (!window.history || !window.history.replaceState) return;
    const q = els.searchInput.value.trim();
    const search = q ? `?q=${encodeURIComponent(q)}` : "";
    const hash = state.mode === "ask" ? "#ask" : "";
    try {
      window.history.replaceState(null, "", `${window.location.pathname}${search}${hash}`);
    } catch (_) {
      /* not important */
    }
  }

  // ---------------------------------------------------------------- search

  function onSearchInput() {
    window.clearTimeout(state.searchTimer);
    const query = els.searchInput.value.trim();
    if (!query) {
      abortSearch();
      clearResults();
      updateAddress();
      return;
    }
    // While the customer types: the cheap ranking (no typo pass, BM25 and one fast model);
    // Enter, a topic, a filter or a deep link run the full one.
    state.searchTimer = window.setTimeout(() => runSearch(query, "typing"), DEBOUNCE_MS);
  }

  function abortSearch() {
    state.search.abort();
    els.searchSpinner.hidden = true;
  }

  function clearResults() {
    state.lastSearch = null;
    state.searchFailed = false;
    clear(els.results);
    els.resultsCount.textContent = "";
    els.resultsEmpty.hidden = true;
    els.searchError.hidden = true;
    els.results.hidden = true;
  }

  async function runSearch(query, mode = "full") {
    window.clearTimeout(state.searchTimer);
    abortSearch();
    const params = new URLSearchParams({ q: query, k: String(SEARCH_K), surface: "help" });
    if (mode !== "full") params.set("mode", mode);
    if (els.searchLanguage.value) params.set("language", els.searchLanguage.value);
    if (els.searchProduct.value) params.set("product", els.searchProduct.value);
    els.searchSpinner.hidden = false;
    updateAddress();
    await state.search.run((signal) => fetchJson(`/api/search?${params}`, { signal }), {
      done(body) {
        const results = Array.isArray(body.results) ? body.results : [];
        state.searchFailed = false;
        els.searchError.hidden = true;
        const corrected = typeof body.corrected_query === "string" ? body.corrected_query : null;
        renderResults(query, results, false, corrected);
      },
      failed(error) {
        state.lastSearch = null;
        state.searchFailed = true;
        clear(els.results);
        els.results.hidden = true;
        els.resultsEmpty.hidden = true;
        els.resultsCount.textContent = "";
        els.searchError.textContent = errorText(t("searchError"), error);
        els.searchError.hidden = false;
      },
      settled() {
        els.searchSpinner.hidden = true;
      },
    });
  }

  function renderResults(query, results, keepFocus, corrected) {
    const focusedIndex = keepFocus ? activeResultIndex() : -1;
    state.lastSearch = { query, results, corrected };
    clear(els.results);
    results.forEach((result, index) => els.results.appendChild(resultItem(result, index)));
    els.results.hidden = results.length === 0;
    const count = results.length ? t("resultsCount", results.length) : t("noResultsShort");
    // A misspelt word was corrected: say what was searched, so a wrong guess is visible.
    els.resultsCount.textContent = corrected ? `${count} · ${t("correctedTo", corrected)}` : count;
    els.resultsEmpty.hidden = results.length !== 0;
    els.resultsEmptyTitle.textContent = t("noResults", query);
    const first = els.results.querySelector(".result");
    if (first) first.tabIndex = 0;
    if (focusedIndex >= 0) focusResult(focusedIndex);
  }

  function resultItem(result, index) {
    const item = el("li", "result");
    item.id = `result-${index}`;
    item.setAttribute("role", "option");
    item.setAttribute("aria-selected", "false");
    item.tabIndex = -1;
    if (result.language === "en" || result.language === "ko") item.lang = result.language;

    const head = el("div", "result-head");
    const title = sourceLink(result.title || result.url || "", result.url, { className: "result-title" });
    title.tabIndex = -1; // the option itself takes focus; the link opens with Enter or a click
    head.appendChild(title);
    item.appendChild(head);

    appendResultBody(item, result);

    // More matching sections of the same article, each under its own heading path.
    const sections = Array.isArray(result.sections) ? result.sections : [];
    if (sections.length) {
      const list = el("ul", "result-sections");
      for (const section of sections) {
        if (!section || typeof section.snippet !== "string") continue;
        const part = el("li", "result-section");
        const path = headingPath(section.headings);
        if (path) part.appendChild(el("span", "result-section-path", path));
        const text = el("span", "result-section-snippet");
        appendHighlighted(text, section.snippet, section.highlights);
        part.appendChild(text);
        list.appendChild(part);
      }
      if (list.childNodes.length) item.appendChild(list);
    }

    const meta = el("p", "result-meta");
    if (result.language === "en" || result.language === "ko") {
      const tag = el("span", "tag", t(`lang_${result.language}`));
      tag.lang = state.lang;
      meta.appendChild(tag);
    }
    if (result.product) {
      const tag = el("span", "tag tag-product", productLabel(result.product));
      tag.lang = state.lang;
      meta.appendChild(tag);
    }
    if (meta.firstChild) item.appendChild(meta);
    return item;
  }

  function resultItems() {
    return Array.from(els.results.querySelectorAll(".result"));
  }

  function activeResultIndex() {
    return resultItems().findIndex((item) => item === document.activeElement);
  }

  function focusResult(index) {
    const items = resultItems();
    if (!items.length) return;
    const target = Math.max(0, Math.min(items.length - 1, index));
    items.forEach((item, i) => {
      const selected = i === target;
      item.setAttribute("aria-selected", String(selected));
      item.tabIndex = selected ? 0 : -1;
    });
    items[target].focus();
    items[target].scrollIntoView({ block: "nearest" });
  }

  function backToInput() {
    resultItems().forEach((item) => item.setAttribute("aria-selected", "false"));
    els.searchInput.focus();
  }

  function openResult(item) {
    const link = item && item.querySelector("a.result-title");
    if (link) link.click();
  }

  function onSearchKeydown(event) {
    if (event.isComposing || event.keyCode === 229) return;
    if (event.key === "ArrowDown" && resultItems().length) {
      event.preventDefault();
      focusResult(0);
    }
  }

  function onResultsKeydown(event) {
    const items = resultItems();
    const index = items.indexOf(document.activeElement);
    if (index < 0) return;
    switch (event.key) {
      case "ArrowDown":
        event.preventDefault();
        focusResult(index + 1);
        break;
      case "ArrowUp":
        event.preventDefault();
        if (index === 0) backToInput();
        else focusResult(index - 1);
        break;
      case "Home":
        event.preventDefault();
        focusResult(0);
        break;
      case "End":
        event.preventDefault();
        focusResult(items.length - 1);
        break;
      case "Enter":
        event.preventDefault();
        openResult(items[index]);
        break;
      case "Escape":
        event.preventDefault();
        backToInput();
        break;
      default:
    }
  }

  function onResultsClick(event) {
    const item = event.target.closest(".result");
    if (!item) return;
    const index = resultItems().indexOf(item);
    if (event.target.closest("a")) {
      if (index >= 0) focusResult(index);
      return;
    }
    const selection = window.getSelection && window.getSelection();
    if (selection && String(selection).length) return; // the reader is selecting text
    if (index >= 0) focusResult(index);
    openResult(item);
  }

  // ---------------------------------------------------------------- ask

  function renderQuestion(question) {
    els.answerQuestion.dataset.question = question;
    clear(els.answerQuestion);
    els.answerQuestion.appendChild(el("span", "answer-question-label", t("youAsked")));
    els.answerQuestion.appendChild(document.createTextNode(" "));
    els.answerQuestion.appendChild(el("span", "answer-question-text", question));
  }

  function renderStatus() {
    const phase = state.answerPhase;
    const text = phase === "searching" ? t("statusSearching") : phase === "writing" ? t("statusWriting") : "";
    els.answerStatus.textContent = text;
    els.answerStatus.classList.toggle("is-active", Boolean(text));
  }

  function setPhase(phase) {
    state.answerPhase = phase;
    renderStatus();
    const busy = phase === "searching" || phase === "writing";
    els.answer.setAttribute("aria-busy", String(busy));
    els.answer.classList.toggle("is-streaming", busy);
  }

  /** The answer text, with "[n]" markers linked to the matching source below. */
  function renderAnswerText(text, citationIds) {
    const node = els.answerText;
    clear(node);
    const value = typeof text === "string" ? text : "";
    const pattern = /\[(\d{1,3})\]/g;
    let pos = 0;
    let match;
    while ((match = pattern.exec(value)) !== null) {
      if (match.index > pos) node.appendChild(document.createTextNode(value.slice(pos, match.index)));
      const id = Number(match[1]);
      if (citationIds.has(id)) {
        const ref = el("a", "cite-ref", match[0]);
        ref.href = `#citation-${id}`;
        node.appendChild(ref);
      } else {
        node.appendChild(document.createTextNode(match[0]));
      }
      pos = match.index + match[0].length;
    }
    if (pos < value.length) node.appendChild(document.createTextNode(value.slice(pos)));
  }

  function renderCitations(citations) {
    const ids = renderCitationList(els.citations, citations, {
      idPrefix: "citation-",
      decorate(item, citation) {
        const breadcrumb = headingPath(citation.headings);
        if (breadcrumb) item.appendChild(el("span", "citation-breadcrumb", breadcrumb));
        if (typeof citation.snippet === "string" && citation.snippet) {
          item.appendChild(el("span", "citation-snippet", citation.snippet));
        }
      },
    });
    els.citationsBlock.hidden = ids.size === 0;
    return ids;
  }

  function contactNode(contact) {
    const value = String(contact || "").trim();
    if (/^[^\s@<>()"',;:]+@[^\s@<>()"',;:]+\.[A-Za-z]{2,}$/.test(value)) {
      const a = el("a", "contact-link", value);
      a.href = `mailto:${value}`;
      return a;
    }
    if (safeHref(value)) return sourceLink(value, value, { className: "contact-link" });
    return el("span", "contact-text", value);
  }

  function renderContact() {
    clear(els.contactValue);
    if (state.contact) els.contactValue.appendChild(contactNode(state.contact));
    els.contactValue.closest(".contact-card").hidden = !state.contact;
  }

  function resetAnswer(question) {
    els.answer.hidden = false;
    renderQuestion(question);
    clear(els.answerText);
    els.answerText.removeAttribute("lang");
    renderCitations([]);
    els.answerError.hidden = true;
    els.answerError.textContent = "";
    els.handoff.hidden = true;
    clear(els.handoffContact);
    els.answerFooter.hidden = true;
    els.feedbackYes.disabled = false;
    els.feedbackNo.disabled = false;
    els.feedbackStatus.textContent = "";
    clear(els.feedbackReasons);
    state.answerId = "";
    showOffer(null);
  }

  function showAnswer(answer, final) {
    if (!answer || typeof answer !== "object") return;
    const ids = renderCitations(answer.citations);
    renderAnswerText(answer.answer, ids);
    if (answer.language === "en" || answer.language === "ko") els.answerText.lang = answer.language;
    if (!final) return;
    if (typeof answer.conversation_id === "string" && answer.conversation_id) {
      state.conversationId = answer.conversation_id;
    }
    state.answerId = typeof answer.answer_id === "string" ? answer.answer_id : "";
    // A person is offered when the escalation rules fired, and for what the articles don't cover.
    const escalation = escalationOffer(answer);
    if (escalation.offer || answer.handoff) showOffer(escalation.offer ? escalation.reason : "not_covered");
    if (answer.handoff) {
      const contact = answer.contact || state.contact;
      clear(els.handoffContact);
      if (contact) els.handoffContact.appendChild(contactNode(contact));
      els.handoff.hidden = false;
      if (answer.contact && !state.contact) {
        state.contact = answer.contact;
        renderContact();
      }
    }
    els.answerFooter.hidden = false;
    els.feedbackYes.disabled = !state.conversationId;
    els.feedbackNo.disabled = !state.conversationId;
  }

  async function ask(question) {
    state.asking.abort();
    resetAnswer(question);
    setPhase("searching");
    els.askSubmit.disabled = true;

    const payload = { question, locale: state.lang, surface: "help" };
    if (state.conversationId) payload.conversation_id = state.conversationId;
    const stream = { draft: null, final: null, text: "", tokens: 0, ids: new Set() };

    const onEvent = (current, name, data) => {
      if (!current() || !data || typeof data !== "object") return;
      if (name === "sources") {
        const sources = Array.isArray(data.sources) ? data.sources : [];
        stream.ids = new Set(sources.map((s) => s && s.id).filter(Number.isInteger));
        setPhase("writing");
      } else if (name === "draft") {
        stream.draft = data;
        if (!stream.tokens) showAnswer(data, false);
        setPhase("writing");
      } else if (name === "token") {
        if (typeof data.text !== "string") return;
        stream.text = stream.tokens ? stream.text + data.text : data.text;
        stream.tokens += 1;
        const ids = new Set(stream.ids);
        els.citations.querySelectorAll(".citation-item").forEach((item) => {
          ids.add(Number(item.id.replace("citation-", "")));
        });
        renderAnswerText(stream.text, ids);
        setPhase("writing");
      } else if (name === "final") {
        stream.final = data;
        showAnswer(data, true);
        setPhase("done");
      }
    };

    const request = (signal, current) =>
      fetchEvents("/api/ask/stream", payload, (name, data) => onEvent(current, name, data), { signal });
    await state.asking.run(request, {
      done() {
        if (stream.final) return;
        setPhase("done");
        els.answerError.textContent = t("interrupted");
        els.answerError.hidden = false;
      },
      failed(error) {
        setPhase("done");
        els.answerError.textContent = errorText(t("askError"), error);
        els.answerError.hidden = false;
      },
      settled() {
        els.askSubmit.disabled = false;
      },
    });
  }

  function onAskSubmit(event) {
    event.preventDefault();
    const question = els.askInput.value.trim();
    if (!question) {
      els.answer.hidden = false;
      resetAnswer("");
      clear(els.answerQuestion);
      delete els.answerQuestion.dataset.question;
      els.answerError.textContent = t("askEmpty");
      els.answerError.hidden = false;
      els.askInput.focus();
      return;
    }
    ask(question);
  }

  function onAskKeydown(event) {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    if (typeof els.askForm.requestSubmit === "function") els.askForm.requestSubmit();
    else els.askSubmit.click();
  }

  function resetConversation() {
    state.asking.abort();
    state.conversationId = null;
    if (state.poller) state.poller.stop();
    state.poller = null;
    state.ticket = null;
    state.replies = [];
    renderThread();
    setPhase("idle");
    els.askSubmit.disabled = false;
    els.answer.hidden = true;
    delete els.answerQuestion.dataset.question;
    els.askInput.value = "";
    els.askInput.focus();
  }

  async function sendFeedback(helpful, why) {
    if (!state.conversationId) return;
    els.feedbackYes.disabled = true;
    els.feedbackNo.disabled = true;
    try {
      const result = await fetchJson("/api/feedback", {
        method: "POST",
        json: feedbackBody(state.conversationId, state.answerId, helpful, why),
      });
      els.feedbackStatus.textContent = t("feedbackThanks");
      if (result && result.offer_handoff) showOffer("thumbs_down");
    } catch (_) {
      els.feedbackStatus.textContent = t("feedbackError");
      els.feedbackYes.disabled = false;
      els.feedbackNo.disabled = false;
    }
  }

  /** A thumbs down asks what went wrong first; Skip sends it without a reason. */
  function askWhy() {
    if (!state.conversationId) return;
    els.feedbackYes.disabled = true;
    els.feedbackNo.disabled = true;
    clear(els.feedbackReasons);
    const labels = {
      legend: t("reasonLegend"),
      comment: t("reasonComment"),
      send: t("reasonSend"),
      skip: t("skip"),
      wrong: t("wrong"),
      incomplete: t("incomplete"),
      not_my_question: t("not_my_question"),
      other: t("other"),
    };
    const picker = reasonPicker(labels, async (why) => {
      clear(els.feedbackReasons);
      await sendFeedback(false, why);
      // The picker had the focus: hand it to the offer, if one came, else back to the question.
      (els.escalation.hidden ? els.askInput : els.escalationButton).focus();
    });
    els.feedbackReasons.appendChild(picker);
    picker.querySelector("input").focus();
  }

  // ---------------------------------------------------------------- hand-off

  /** Offers a person for the answer shown (reason null: takes the offer away). */
  function showOffer(reason) {
    state.offerReason = reason;
    if (state.handoffForm) state.handoffForm.remove();
    state.handoffForm = null;
    renderOffer();
  }

  function renderOffer() {
    const open = state.ticket && state.ticket.status !== "resolved";
    els.escalation.hidden = state.offerReason === null || Boolean(open);
    if (els.escalation.hidden) return;
    const reason = state.offerReason === "not_covered_twice" ? "not_covered" : state.offerReason;
    const key = `offer_${reason}`;
    els.escalationText.textContent = key in STRINGS.en ? t(key) : t("offer");
    els.escalationButton.hidden = Boolean(state.handoffForm);
  }

  function openHandoffForm() {
    if (state.handoffForm || !state.conversationId) return;
    const labels = {
      note: t("handoffNote"),
      hint: t("handoffHint"),
      send: t("handoffSend"),
      cancel: t("cancel"),
      sending: t("sending"),
    };
    const { form, focus } = handoffForm(labels, {
      send: createTicket,
      failed: handoffError,
      cancel() {
        form.remove();
        state.handoffForm = null;
        renderOffer();
        els.escalationButton.focus();
      },
    });
    state.handoffForm = form;
    els.escalationButton.insertAdjacentElement("afterend", form);
    renderOffer();
    focus();
  }

  async function createTicket(message) {
    const json = { conversation_id: state.conversationId };
    if (state.answerId) json.answer_id = state.answerId;
    if (message) json.message = message;
    const ticket = await fetchJson("/api/handoff", { method: "POST", json });
    state.ticket = { id: String(ticket.ticket_id), reference: String(ticket.reference), status: "open" };
    state.replies = [];
    showOffer(null);
    renderThread();
    watchTicket(state.conversationId);
    els.confirmation.focus();
  }

  function handoffError(error) {
    const status = error && error.status;
    if (status === 404 || (error && error.code === "unknown_conversation")) return t("unknownConversation");
    if (status && status !== 502 && status !== 503 && status !== 504) return errorText(t("handoffError"), error);
    if (!state.contact) return t("storeDownNoContact");
    const node = el("span", "");
    node.appendChild(document.createTextNode(`${t("storeDown")} `));
    node.appendChild(contactNode(state.contact));
    return node;
  }

  /** The agent's replies, the claim and the resolution, as they come, while the page is seen. */
  function watchTicket(conversationId) {
    if (state.poller) state.poller.stop();
    const ticket = state.ticket;
    state.poller = handoffPoller({
      ticketId: ticket.id,
      conversationId,
      intervalMs: HANDOFF_POLL_MS,
      active: () => !document.hidden,
      onUpdate(news, replies) {
        for (const reply of replies) state.replies.push({ text: reply.text, at: reply.at });
        if (typeof news.status === "string" && news.status) ticket.status = news.status;
        renderThread();
      },
    });
  }

  function renderThread() {
    const ticket = state.ticket;
    els.thread.hidden = !ticket;
    if (!ticket) return;
    const key = ticket.status === "claimed" ? "claimed" : ticket.status === "resolved" ? "resolved" : "created";
    els.confirmation.textContent = t(key, ticket.reference);
    clear(els.agentReplies);
    for (const reply of state.replies) {
      const item = el("li", "agent-reply");
      item.appendChild(el("span", "agent-reply-who", t("agent")));
      item.appendChild(el("p", "agent-reply-text", reply.text));
      els.agentReplies.appendChild(item);
    }
  }

  // ---------------------------------------------------------------- topics, products, contact

  function renderTopics() {
    clear(els.topics);
    for (const [label, query] of t("topics")) {
      const item = el("li");
      const button = el("button", "topic", label);
      button.type = "button";
      button.dataset.query = query;
      item.appendChild(button);
      els.topics.appendChild(item);
    }
  }

  function renderProducts() {
    fillProductSelect(els.searchProduct, state.products, productLabel);
    els.productFilter.hidden = state.products.length === 0;
  }

  async function loadConfig() {
    try {
      const body = await fetchJson("/api/config");
      if (typeof body !== "object") return;
      if (typeof body.contact === "string") state.contact = body.contact;
      if (Array.isArray(body.products)) state.products = body.products;
      renderProducts();
      renderContact();
    } catch (_) {
      /* the page works without it: no product filter, no contact card */
    }
  }

  // ---------------------------------------------------------------- wiring

  function init() {
    if (!els.searchInput || !els.askForm || !els.answerText) return;
    state.lang = initialLanguage();
    applyStrings();
    clearResults();

    els.langSwitch.addEventListener("change", () => setLanguage(els.langSwitch.value, true));

    els.tabSearch.addEventListener("click", () => setMode("search", false));
    els.tabAsk.addEventListener("click", () => setMode("ask", false));
    els.tabSearch.addEventListener("keydown", onTabKeydown);
    els.tabAsk.addEventListener("keydown", onTabKeydown);

    els.searchInput.addEventListener("input", onSearchInput);
    els.searchInput.addEventListener("keydown", onSearchKeydown);
    els.searchForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const query = els.searchInput.value.trim();
      if (query) runSearch(query);
    });
    const refilter = () => {
      const query = els.searchInput.value.trim();
      if (query) runSearch(query);
    };
    els.searchLanguage.addEventListener("change", refilter);
    els.searchProduct.addEventListener("change", refilter);
    els.results.addEventListener("keydown", onResultsKeydown);
    els.results.addEventListener("click", onResultsClick);
    els.askInstead.addEventListener("click", () => {
      els.askInput.value = els.searchInput.value.trim();
      setMode("ask", false);
      els.askInput.focus();
    });

    els.askForm.addEventListener("submit", onAskSubmit);
    els.askInput.addEventListener("keydown", onAskKeydown);
    els.askReset.addEventListener("click", resetConversation);
    els.feedbackYes.addEventListener("click", () => sendFeedback(true));
    els.feedbackNo.addEventListener("click", askWhy);
    els.escalationButton.addEventListener("click", openHandoffForm);
    els.answerText.addEventListener("click", (event) => {
      const ref = event.target.closest("a.cite-ref");
      if (!ref) return;
      const target = document.getElementById(ref.getAttribute("href").slice(1));
      if (!target) return;
      event.preventDefault();
      target.scrollIntoView({ block: "nearest", behavior: "smooth" });
      target.focus({ preventScroll: true });
    });

    els.topics.addEventListener("click", (event) => {
      const button = event.target.closest("button.topic");
      if (!button) return;
      setMode("search", false);
      els.searchInput.value = button.dataset.query || "";
      els.searchInput.focus();
      runSearch(els.searchInput.value.trim());
    });

    // Deep links: /?q=warranty searches at once, /#ask opens the question form.
    const params = new URLSearchParams(window.location.search);
    const initialQuery = (params.get("q") || "").trim();
    setMode(window.location.hash === "#ask" ? "ask" : "search", false);
    if (initialQuery) {
      els.searchInput.value = initialQuery;
      runSearch(initialQuery);
    }
    loadConfig();
  }

  whenReady(init);
})();
