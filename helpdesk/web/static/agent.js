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
    h,
    str,
  } = Helpdesk;

  const SEARCH_K = 20;
  const TICKETS_POLL_MS = 10000;
  const SVGNS = "http://www.w3.org/2000/svg";

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
      views: "Views",
      viewKb: "Knowledge base",
      viewTickets: "Tickets",
      ticketFilter: "Status",
      statusAll: "All",
      statusActive: "Open and claimed",
      status_open: "Open",
      status_claimed: "Claimed",
      status_resolved: "Resolved",
      refresh: "Refresh",
      updatedAt: (time) => `Updated ${time} · refreshes every 10 s`,
      tickets: "Tickets",
      ticketsCount: (n) => (n === 1 ? "1 ticket" : `${n} tickets`),
      ticketsEmpty: "No tickets with this status.",
      ticket: "Ticket",
      ticketIdle: "Choose a ticket to see everything the assistant knows about it.",
      claim: "Claim",
      resolve: "Resolve",
      replyLabel: "Reply to the customer",
      sendReply: "Send reply",
      replyEmpty: "Write a reply first.",
      claimedBy: (who) => `Claimed by ${who}`,
      created: (age) => `Created ${age}`,
      frustration: "Frustration",
      frustrationValue: (p) => `Frustration ${p}%`,
      summary: "Summary",
      reasonsTitle: "Why it was handed off",
      reason_asked_for_person: "Asked for a person",
      reason_frustration: "Frustration",
      reason_repeated: "Repeated question",
      reason_not_covered_twice: "Not covered twice",
      reason_thumbs_down: "Thumbs down",
      reason_requested: "Asked from the chat",
      note: "The customer's note",
      customer: "Customer",
      customer_product: "Product",
      customer_plan: "Plan",
      customer_locale: "Locale",
      customer_customer_id: "Customer id",
      noContext: "No customer context was sent.",
      trend: "Frustration trend",
      trendSummary: (latest, peak, direction) => `Latest ${latest}% · peak ${peak}% · ${direction}`,
      direction_rising: "rising",
      direction_steady: "steady",
      direction_falling: "falling",
      trendLabel: (values) => `Frustration per customer message: ${values}`,
      tried: "What the assistant tried",
      conversation: "Conversation",
      customerSaid: "Customer",
      assistantSaid: "Assistant",
      notCovered: "Not covered",
      cues: (list) => `Cues: ${list}`,
      sources: "Retrieved sources",
      replies: "Replies",
      noReplies: "No replies yet.",
      claimed: "Claimed.",
      resolved: "Resolved.",
      replied: "Reply sent.",
      conflict: (who) => (who ? `Another agent (${who}) holds this ticket.` : "Another agent holds this ticket."),
      viewInsights: "Insights",
      rangeFrom: "From",
      rangeTo: "To",
      apply: "Apply",
      downloadCsv: "Download CSV",
      insightsLoading: "Loading…",
      insightsRange: (from, to, days) => `${from} to ${to} (UTC) · ${days} days`,
      headline: "Headline figures",
      kpiConversations: "Conversations",
      kpiQuestions: (asks, searches) => `${asks} questions asked · ${searches} searches`,
      kpiResolution: "Resolved",
      kpiNotHandedOff: (p) => `${p} not handed off`,
      kpiProvisional: (n) => `${n} provisional`,
      kpiNotCovered: "Not covered",
      kpiThumbsDown: "Thumbs down",
      kpiOfAsks: "of questions asked",
      kpiHandoffs: "Hand-offs",
      kpiFirst: "First content",
      kpiFinal: "Final answer",
      kpiLatency: (p50, p95) => `p50 ${p50} · p95 ${p95}`,
      ms: (n) => `${n} ms`,
      none: "—",
      chart_questions: "Searches and questions per day, by where they were asked",
      chart_languages: "Searches and questions per day, by language",
      chart_rates: "Resolution, not covered and thumbs-down",
      chart_handoffs: "Hand-offs per day",
      chart_latency: "Latency: first content and final, p50 and p95",
      chartAlt: (title, values) => `${title}. ${values}`,
      chartFailed: "The chart couldn't be loaded.",
      topQuestions: "Top questions",
      topFailing: "Top failing questions",
      colQuestion: "Question",
      colCount: "Asked",
      colFailed: "Failed",
      colWhy: "Why",
      colLanguages: "Languages",
      noQuestions: "No questions in this range.",
      noFailing: "No failing questions in this range.",
      failedOf: (failed, asked) => `${failed} of ${asked}`,
      why_not_covered: (n) => `Not covered ×${n}`,
      why_handed_off: (n) => `Handed off ×${n}`,
      why_thumbs_down: (n) => `Thumbs down ×${n}`,
      journeys: "Journeys",
      journeysHint: "One visitor's or customer's events across the help page, the widget and the console",
      noJourneys: "No journeys of two or more events in this range.",
      colWho: "Who",
      colWhen: "When",
      colPath: "Path",
      colOutcome: "Outcome",
      colSteps: "Steps",
      whoCustomer: (id) => `Customer ${id}`,
      whoVisitor: (id) => `Visitor ${id}`,
      stepsCount: (n) => (n === 1 ? "1 event" : `${n} events`),
      surface_help: "Help page",
      surface_widget: "Widget",
      surface_agent: "Console",
      surface_api: "API",
      kind_search: "searched",
      kind_ask: "asked",
      kind_feedback: "rated",
      kind_handoff: "handed off",
      outcome_handed_off: "Handed off",
      outcome_thumbs_down: "Thumbs down",
      outcome_not_covered: "Not covered",
      outcome_answered: "Answered",
      outcome_searched: "Searched only",
      outcome_results: "results",
      outcome_no_results: "no results",
      outcome_up: "helpful",
      outcome_down: "not helpful",
      outcome_created: "ticket created",
      outcome_person: "asked for a person",
      gaps: "Content gaps",
      noGaps: "No content-gap report yet: it appears here once the gap report runs over the failing questions.",
      gapEmpty: "No content gaps found in this range.",
      gap_missing: "Missing",
      gap_wrong: "Wrong or outdated",
      gapSize: (n) => (n === 1 ? "1 question" : `${n} questions`),
      gapNearest: "Nearest article",
      gapDraft: "Draft FAQ entry",
      replay: "Last replay",
      noReplay: "No replay yet: run helpdesk ingest --candidate, then helpdesk replay.",
      replayCompared: (candidate, live) => `Candidate ${candidate} against live ${live}`,
      replayAt: (at) => `Run ${at}`,
      replayFixed: "Fixed",
      replayBroken: "Broken",
      replayQuestions: "Questions replayed",
      replayLatency: (side, p50, p95) => `${side}: p50 ${p50} · p95 ${p95}`,
      replayLive: "Live",
      replayCandidate: "Candidate",
      experiment: "Experiment",
      noExperiment: "No experiment served in this range: every conversation had the same variant.",
      colVariant: "Variant",
      colConversations: "Conversations",
      colResolved: "Resolved",
      colThumbsDown: "Thumbs down",
      colHandoff: "Handed off",
      colLatency: "Final p50",
      sources: "Sources",
      noSources: "No sources file: the knowledge base is its folder only. See docs/sources.md to sync a website, Zendesk or Intercom.",
      sourcesFileError: (detail) => `The sources file cannot be used: ${detail}`,
      colSource: "Source",
      colType: "Type",
      colSchedule: "Schedule",
      colLastSync: "Last sync",
      colOutcome: "Outcome",
      colChanges: "Changes",
      colNextSync: "Next sync",
      neverSynced: "never",
      onDemand: "helpdesk sync only",
      sourceChanges: (a, c, r, u, s) => `+${a} · ~${c} · −${r} · =${u} · skipped ${s}`,
      outcome_ok: "OK",
      outcome_unreachable: "Unreachable",
      outcome_empty: "Returned nothing",
      outcome_error: "Error",
      noVariantName: "(none)",
      noComparison: "Only one variant served in this range: nothing to compare it with.",
      colMetric: "Metric",
      colDifference: "Difference (95% CI)",
      colVerdict: "Verdict",
      metric_resolution: "Resolution",
      metric_thumbs_down: "Thumbs down",
      metric_handoff: "Hand-off",
      metric_latency: "Latency (median)",
      versus: (variant, control) => `${variant} vs ${control}`,
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
      views: "보기",
      viewKb: "지식 베이스",
      viewTickets: "티켓",
      ticketFilter: "상태",
      statusAll: "전체",
      statusActive: "대기 및 처리 중",
      status_open: "대기",
      status_claimed: "처리 중",
      status_resolved: "해결됨",
      refresh: "새로 고침",
      updatedAt: (time) => `${time} 업데이트 · 10초마다 새로 고침`,
      tickets: "티켓",
      ticketsCount: (n) => `${n}건`,
      ticketsEmpty: "이 상태의 티켓이 없습니다.",
      ticket: "티켓",
      ticketIdle: "티켓을 선택하면 어시스턴트가 파악한 내용을 모두 보여 줍니다.",
      claim: "담당하기",
      resolve: "해결 완료",
      replyLabel: "고객에게 답장",
      sendReply: "답장 보내기",
      replyEmpty: "먼저 답장을 입력해 주세요.",
      claimedBy: (who) => `담당: ${who}`,
      created: (age) => `생성: ${age}`,
      frustration: "불만도",
      frustrationValue: (p) => `불만도 ${p}%`,
      summary: "요약",
      reasonsTitle: "상담 연결 사유",
      reason_asked_for_person: "상담원 요청",
      reason_frustration: "불만 감지",
      reason_repeated: "같은 질문 반복",
      reason_not_covered_twice: "두 번 연속 답변 불가",
      reason_thumbs_down: "도움 안 됨 평가",
      reason_requested: "채팅에서 직접 요청",
      note: "고객 메모",
      customer: "고객",
      customer_product: "제품",
      customer_plan: "요금제",
      customer_locale: "로캘",
      customer_customer_id: "고객 ID",
      noContext: "고객 정보가 전달되지 않았습니다.",
      trend: "불만도 추이",
      trendSummary: (latest, peak, direction) => `최근 ${latest}% · 최고 ${peak}% · ${direction}`,
      direction_rising: "상승",
      direction_steady: "유지",
      direction_falling: "하락",
      trendLabel: (values) => `고객 메시지별 불만도: ${values}`,
      tried: "어시스턴트가 시도한 내용",
      conversation: "대화",
      customerSaid: "고객",
      assistantSaid: "어시스턴트",
      notCovered: "답변 불가",
      cues: (list) => `단서: ${list}`,
      sources: "검색된 출처",
      replies: "답장",
      noReplies: "아직 답장이 없습니다.",
      claimed: "담당했습니다.",
      resolved: "해결 완료했습니다.",
      replied: "답장을 보냈습니다.",
      conflict: (who) => (who ? `다른 상담원(${who})이 담당 중인 티켓입니다.` : "다른 상담원이 담당 중인 티켓입니다."),
      viewInsights: "인사이트",
      rangeFrom: "시작일",
      rangeTo: "종료일",
      apply: "적용",
      downloadCsv: "CSV 다운로드",
      insightsLoading: "불러오는 중…",
      insightsRange: (from, to, days) => `${from} ~ ${to} (UTC) · ${days}일`,
      headline: "주요 지표",
      kpiConversations: "대화",
      kpiQuestions: (asks, searches) => `질문 ${asks}건 · 검색 ${searches}건`,
      kpiResolution: "해결률",
      kpiNotHandedOff: (p) => `상담 연결 없음 ${p}`,
      kpiProvisional: (n) => `잠정 ${n}건`,
      kpiNotCovered: "답변 불가",
      kpiThumbsDown: "도움 안 됨",
      kpiOfAsks: "질문 대비",
      kpiHandoffs: "상담 연결",
      kpiFirst: "첫 내용",
      kpiFinal: "최종 답변",
      kpiLatency: (p50, p95) => `p50 ${p50} · p95 ${p95}`,
      ms: (n) => `${n}ms`,
      none: "—",
      chart_questions: "경로별 일일 검색과 질문",
      chart_languages: "언어별 일일 검색과 질문",
      chart_rates: "해결률, 답변 불가율, 도움 안 됨 비율",
      chart_handoffs: "일일 상담 연결",
      chart_latency: "응답 시간: 첫 내용과 최종, p50과 p95",
      chartAlt: (title, values) => `${title}. ${values}`,
      chartFailed: "차트를 불러오지 못했습니다.",
      topQuestions: "자주 묻는 질문",
      topFailing: "실패가 많은 질문",
      colQuestion: "질문",
      colCount: "질문 수",
      colFailed: "실패",
      colWhy: "사유",
      colLanguages: "언어",
      noQuestions: "이 기간에 질문이 없습니다.",
      noFailing: "이 기간에 실패한 질문이 없습니다.",
      failedOf: (failed, asked) => `${asked}건 중 ${failed}건`,
      why_not_covered: (n) => `답변 불가 ×${n}`,
      why_handed_off: (n) => `상담 연결 ×${n}`,
      why_thumbs_down: (n) => `도움 안 됨 ×${n}`,
      journeys: "고객 여정",
      journeysHint: "방문자 또는 고객 한 명의 도움말 페이지, 위젯, 콘솔 이용 기록",
      noJourneys: "이 기간에 두 건 이상의 이벤트가 있는 여정이 없습니다.",
      colWho: "대상",
      colWhen: "시각",
      colPath: "경로",
      colOutcome: "결과",
      colSteps: "단계",
      whoCustomer: (id) => `고객 ${id}`,
      whoVisitor: (id) => `방문자 ${id}`,
      stepsCount: (n) => `이벤트 ${n}건`,
      surface_help: "도움말 페이지",
      surface_widget: "위젯",
      surface_agent: "콘솔",
      surface_api: "API",
      kind_search: "검색",
      kind_ask: "질문",
      kind_feedback: "평가",
      kind_handoff: "상담 연결",
      outcome_handed_off: "상담 연결",
      outcome_thumbs_down: "도움 안 됨",
      outcome_not_covered: "답변 불가",
      outcome_answered: "답변함",
      outcome_searched: "검색만 함",
      outcome_results: "결과 있음",
      outcome_no_results: "결과 없음",
      outcome_up: "도움 됨",
      outcome_down: "도움 안 됨",
      outcome_created: "티켓 생성",
      outcome_person: "상담원 요청",
      gaps: "콘텐츠 공백",
      noGaps: "아직 콘텐츠 공백 보고서가 없습니다. 실패한 질문으로 보고서를 만들면 여기에 표시됩니다.",
      gapEmpty: "이 기간에 발견된 콘텐츠 공백이 없습니다.",
      gap_missing: "누락",
      gap_wrong: "틀리거나 오래됨",
      gapSize: (n) => `질문 ${n}건`,
      gapNearest: "가장 가까운 문서",
      gapDraft: "FAQ 초안",
      replay: "마지막 재실행",
      noReplay: "아직 재실행 기록이 없습니다. helpdesk ingest --candidate 실행 후 helpdesk replay를 실행하세요.",
      replayCompared: (candidate, live) => `후보 ${candidate} 대 운영 중 ${live}`,
      replayAt: (at) => `실행 시각 ${at}`,
      replayFixed: "개선",
      replayBroken: "악화",
      replayQuestions: "재실행한 질문",
      replayLatency: (side, p50, p95) => `${side}: p50 ${p50} · p95 ${p95}`,
      replayLive: "운영 중",
      replayCandidate: "후보",
      experiment: "실험",
      noExperiment: "이 기간에 진행된 실험이 없습니다. 모든 대화가 같은 변형으로 처리되었습니다.",
      colVariant: "변형",
      colConversations: "대화",
      colResolved: "해결",
      colThumbsDown: "도움 안 됨",
      colHandoff: "상담 연결",
      colLatency: "최종 p50",
      sources: "소스",
      noSources: "소스 파일이 없습니다. 지식 베이스는 폴더만 사용합니다. 웹사이트, Zendesk, Intercom 동기화는 docs/sources.md를 참고하세요.",
      sourcesFileError: (detail) => `소스 파일을 사용할 수 없습니다: ${detail}`,
      colSource: "소스",
      colType: "유형",
      colSchedule: "일정",
      colLastSync: "마지막 동기화",
      colOutcome: "결과",
      colChanges: "변경",
      colNextSync: "다음 동기화",
      neverSynced: "없음",
      onDemand: "helpdesk sync로만",
      sourceChanges: (a, c, r, u, s) => `+${a} · ~${c} · −${r} · =${u} · 건너뜀 ${s}`,
      outcome_ok: "정상",
      outcome_unreachable: "연결 안 됨",
      outcome_empty: "빈 응답",
      outcome_error: "오류",
      noVariantName: "(없음)",
      noComparison: "이 기간에는 변형 하나만 제공되어 비교할 대상이 없습니다.",
      colMetric: "지표",
      colDifference: "차이 (95% 신뢰 구간)",
      colVerdict: "판정",
      metric_resolution: "해결률",
      metric_thumbs_down: "도움 안 됨",
      metric_handoff: "상담 연결",
      metric_latency: "응답 시간(중앙값)",
      versus: (variant, control) => `${variant} 대 ${control}`,
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
    tabKb: $("tab-kb"),
    tabTickets: $("tab-tickets"),
    viewKb: $("view-kb"),
    viewTickets: $("view-tickets"),
    openCount: $("tickets-open-count"),
    ticketFilter: $("ticket-filter"),
    ticketsRefresh: $("tickets-refresh"),
    ticketsUpdated: $("tickets-updated"),
    ticketError: $("ticket-error"),
    ticketList: $("ticket-list"),
    ticketsCount: $("tickets-count"),
    ticketsEmpty: $("tickets-empty"),
    ticketEmpty: $("ticket-empty"),
    ticketDetail: $("ticket-detail"),
    ticketBody: $("ticket-body"),
    ticketActionStatus: $("ticket-action-status"),
    claim: $("ticket-claim"),
    resolve: $("ticket-resolve"),
    replyForm: $("ticket-reply-form"),
    replyText: $("ticket-reply-text"),
    replySend: $("ticket-reply-send"),
    tabInsights: $("tab-insights"),
    viewInsights: $("view-insights"),
    insightsForm: $("insights-form"),
    insightsFrom: $("insights-from"),
    insightsTo: $("insights-to"),
    insightsApply: $("insights-apply"),
    insightsCsv: $("insights-csv"),
    insightsStatus: $("insights-status"),
    insightsError: $("insights-error"),
    kpis: $("insights-kpis"),
    insightsTop: $("insights-top"),
    insightsFailing: $("insights-failing"),
    insightsJourneys: $("insights-journeys"),
    insightsGaps: $("insights-gaps"),
    insightsReplay: $("insights-replay"),
    insightsExperiment: $("insights-experiment"),
    insightsSources: $("insights-sources"),
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
    view: "kb",
    tickets: null, // the list shown, or null before the first load
    ticketsAt: null, // when it was loaded
    ticketsRequest: latestRequest(),
    ticket: null, // the ticket open in the detail pane
    ticketRequest: latestRequest(),
    ticketError: null,
    actionKey: "", // the last action's outcome, for the status line
    pollTimer: 0,
    insights: null, // the dashboard's JSON, or null before the first load
    insightsRequest: latestRequest(),
    insightsLoading: false,
    insightsError: null,
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
    renderTickets();
    renderTicket();
    renderInsights();
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

  // ---------------------------------------------------------------- views

  const VIEWS = ["kb", "tickets", "insights"];

  function setView(view, focusTab) {
    state.view = VIEWS.includes(view) ? view : "kb";
    const tabs = { kb: els.tabKb, tickets: els.tabTickets, insights: els.tabInsights };
    const panels = { kb: els.viewKb, tickets: els.viewTickets, insights: els.viewInsights };
    for (const name of VIEWS) {
      const shown = name === state.view;
      tabs[name].setAttribute("aria-selected", String(shown));
      tabs[name].tabIndex = shown ? 0 : -1;
      panels[name].hidden = !shown;
    }
    if (focusTab) tabs[state.view].focus();
    if (state.view === "tickets") refreshTickets();
    if (state.view === "insights" && !state.insights && !state.insightsLoading) loadInsights();
  }

  function onViewTabKeydown(event) {
    const at = VIEWS.indexOf(state.view);
    const step = { ArrowLeft: -1, ArrowRight: 1 }[event.key];
    let target = null;
    if (step) target = VIEWS[(at + step + VIEWS.length) % VIEWS.length];
    else if (event.key === "Home") target = VIEWS[0];
    else if (event.key === "End") target = VIEWS[VIEWS.length - 1];
    if (!target) return;
    event.preventDefault();
    setView(target, true);
  }

  // ---------------------------------------------------------------- tickets

  /** fetchJson for the agents' API, with the console's credential. */
  function agentJson(url, options = {}) {
    return fetchJson(url, { credentials: "same-origin", ...options });
  }

  const ticketUrl = (id, action) =>
    `/api/agent/tickets/${encodeURIComponent(id)}${action ? `/${action}` : ""}`;

  function percent(value) {
    return typeof value === "number" && Number.isFinite(value) ? Math.round(Math.max(0, Math.min(1, value)) * 100) : null;
  }

  function when(iso) {
    const at = Date.parse(iso);
    if (!Number.isFinite(at)) return "";
    const seconds = Math.round((at - Date.now()) / 1000);
    const format = new Intl.RelativeTimeFormat(state.lang, { numeric: "auto" });
    const steps = [[60, "second"], [3600, "minute"], [86400, "hour"], [Infinity, "day"]];
    const size = { second: 1, minute: 60, hour: 3600, day: 86400 };
    for (const [limit, unit] of steps) {
      if (Math.abs(seconds) < limit) return format.format(Math.round(seconds / size[unit]), unit);
    }
    return "";
  }

  function fullTime(iso) {
    const at = Date.parse(iso);
    return Number.isFinite(at) ? new Date(at).toLocaleString(state.lang) : "";
  }

  function statusBadge(status) {
    const known = ["open", "claimed", "resolved"].includes(status) ? status : "open";
    return el("span", `status status-${known}`, t(`status_${known}`));
  }

  /** A small horizontal meter for a frustration score (0..1). */
  function meter(value) {
    const p = percent(value);
    if (p === null) return null;
    const bar = el("span", `meter${p >= 70 ? " is-high" : p >= 40 ? " is-mid" : ""}`);
    bar.setAttribute("role", "img");
    bar.setAttribute("aria-label", t("frustrationValue", p));
    bar.title = t("frustrationValue", p);
    const fill = el("span", "meter-fill");
    fill.style.width = `${p}%`;
    bar.appendChild(fill);
    return bar;
  }

  function showTicketError(error, conflictWith) {
    if (!error) state.ticketError = null;
    else if (error.status === 409) state.ticketError = { conflict: true, who: conflictWith || "" };
    else state.ticketError = { status: error.status || 0, detail: error.detail || "" };
    renderTicketError();
  }

  function renderTicketError() {
    const error = state.ticketError;
    clear(els.ticketError);
    els.ticketError.hidden = !error;
    if (!error) return;
    let message;
    if (error.conflict) message = t("conflict", error.who);
    else if (error.message) message = t(error.message);
    else if (error.status === 401) message = t("error401");
    else if (error.status === 403) message = t("error403");
    else if (error.status) message = t("errorOther", error.status);
    else message = t("errorNetwork");
    els.ticketError.appendChild(el("strong", "", message));
    if (error.detail && !error.conflict) els.ticketError.appendChild(el("span", "alert-detail", error.detail));
  }

  async function refreshTickets() {
    window.clearTimeout(state.pollTimer);
    // "active" (the default) is open and claimed: a ticket stays in the list when it is claimed.
    const filter = els.ticketFilter.value || "active";
    const params = new URLSearchParams({ status: filter === "active" ? "all" : filter });
    await state.ticketsRequest.run((signal) => agentJson(`/api/agent/tickets?${params}`, { signal }), {
      done(body) {
        const tickets = Array.isArray(body.tickets) ? body.tickets.filter((x) => x && typeof x === "object") : [];
        state.tickets = filter === "active" ? tickets.filter((x) => x.status !== "resolved") : tickets;
        state.ticketsAt = new Date();
        if (state.ticketError && !state.ticketError.conflict) showTicketError(null);
        renderTickets();
      },
      failed: showTicketError,
    });
    // The open ticket's news (a customer's note, a colleague's claim) comes with the list.
    if (state.ticket) loadTicket(state.ticket.id, false);
    schedulePoll();
  }

  function schedulePoll() {
    window.clearTimeout(state.pollTimer);
    state.pollTimer = window.setTimeout(() => {
      if (state.view === "tickets" && !document.hidden) refreshTickets();
      else schedulePoll();
    }, TICKETS_POLL_MS);
  }

  function renderTickets() {
    const tickets = state.tickets;
    if (!tickets) return;
    const focusedId = document.activeElement && document.activeElement.closest("#ticket-list .ticket-row")
      ? document.activeElement.dataset.id
      : null;
    clear(els.ticketList);
    for (const ticket of tickets) els.ticketList.appendChild(ticketRow(ticket));
    els.ticketsCount.textContent = t("ticketsCount", tickets.length);
    els.ticketsEmpty.textContent = t("ticketsEmpty");
    els.ticketsEmpty.hidden = tickets.length > 0;
    els.ticketsUpdated.textContent = state.ticketsAt ? t("updatedAt", state.ticketsAt.toLocaleTimeString(state.lang)) : "";
    const open = tickets.filter((ticket) => ticket.status === "open").length;
    els.openCount.textContent = String(open);
    els.openCount.hidden = !open || els.ticketFilter.value === "resolved";
    if (focusedId) {
      const again = Array.from(els.ticketList.querySelectorAll(".ticket-row")).find((b) => b.dataset.id === focusedId);
      if (again) again.focus();
    }
  }

  function ticketRow(ticket) {
    const id = str(ticket.id);
    const row = h("button", {
      type: "button",
      class: "ticket-row",
      "data-id": id,
      "aria-current": state.ticket && state.ticket.id === id ? "true" : null,
    });
    const head = el("span", "ticket-row-head");
    head.appendChild(el("strong", "ticket-ref", str(ticket.reference) || id));
    head.appendChild(statusBadge(ticket.status));
    const age = when(ticket.created_at);
    if (age) {
      const time = el("span", "ticket-age", age);
      time.title = fullTime(ticket.created_at);
      head.appendChild(time);
    }
    const bar = meter(ticket.frustration);
    if (bar) head.appendChild(bar);
    row.appendChild(head);
    const summary = el("span", "ticket-summary", str(ticket.summary));
    if (ticket.language === "en" || ticket.language === "ko") summary.lang = ticket.language;
    row.appendChild(summary);
    const reasons = Array.isArray(ticket.reasons) ? ticket.reasons.filter((r) => typeof r === "string") : [];
    if (reasons.length || ticket.claimed_by) {
      const foot = el("span", "ticket-row-foot");
      for (const reason of reasons) foot.appendChild(el("span", "chip", reasonLabel(reason)));
      if (ticket.claimed_by) foot.appendChild(el("span", "ticket-owner", t("claimedBy", str(ticket.claimed_by))));
      row.appendChild(foot);
    }
    return h("li", {}, [row]);
  }

  function reasonLabel(reason) {
    const key = `reason_${reason}`;
    return key in STRINGS.en ? t(key) : reason.replace(/_/g, " ");
  }

  async function loadTicket(id, announce) {
    await state.ticketRequest.run((signal) => agentJson(ticketUrl(id), { signal }), {
      done(ticket) {
        if (announce) state.actionKey = "";
        showTicket(ticket);
      },
      failed: showTicketError,
    });
  }

  function showTicket(ticket) {
    state.ticket = ticket && typeof ticket === "object" ? { ...ticket, id: str(ticket.id) } : null;
    renderTicket();
    for (const row of els.ticketList.querySelectorAll(".ticket-row")) {
      if (state.ticket && row.dataset.id === state.ticket.id) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
    }
  }

  function section(title, kids) {
    const block = el("section", "ticket-section");
    block.appendChild(el("h3", "", title));
    for (const kid of kids) if (kid) block.appendChild(kid);
    return block;
  }

  /** The frustration trend: one bar per customer message, in an SVG built node by node. */
  function sparkline(values) {
    const points = values.map(percent).filter((p) => p !== null);
    if (!points.length) return null;
    const width = Math.max(40, points.length * 14);
    const svg = document.createElementNS(SVGNS, "svg");
    svg.setAttribute("class", "sparkline");
    svg.setAttribute("viewBox", `0 0 ${width} 32`);
    svg.setAttribute("width", String(width));
    svg.setAttribute("height", "32");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", t("trendLabel", points.map((p) => `${p}%`).join(", ")));
    points.forEach((p, i) => {
      const height = Math.max(2, Math.round((p / 100) * 30));
      const rect = document.createElementNS(SVGNS, "rect");
      rect.setAttribute("x", String(i * 14 + 2));
      rect.setAttribute("y", String(32 - height));
      rect.setAttribute("width", "10");
      rect.setAttribute("height", String(height));
      rect.setAttribute("rx", "2");
      rect.setAttribute("class", p >= 70 ? "bar is-high" : p >= 40 ? "bar is-mid" : "bar");
      svg.appendChild(rect);
    });
    return svg;
  }

  function renderTicket() {
    const ticket = state.ticket;
    els.ticketEmpty.hidden = Boolean(ticket);
    els.ticketDetail.hidden = !ticket;
    els.ticketActionStatus.textContent = state.actionKey ? t(state.actionKey) : "";
    if (!ticket) return;
    const packet = ticket.packet && typeof ticket.packet === "object" ? ticket.packet : {};
    const body = els.ticketBody;
    clear(body);

    const head = el("div", "ticket-head");
    head.appendChild(el("h3", "ticket-title", str(ticket.reference) || ticket.id));
    head.appendChild(statusBadge(ticket.status));
    if (ticket.claimed_by) head.appendChild(el("span", "ticket-owner", t("claimedBy", str(ticket.claimed_by))));
    const age = when(ticket.created_at);
    if (age) {
      const created = el("span", "ticket-age", t("created", age));
      created.title = fullTime(ticket.created_at);
      head.appendChild(created);
    }
    body.appendChild(head);

    const summary = el("p", "ticket-summary-text", str(packet.summary));
    body.appendChild(section(t("summary"), [summary]));

    const reasons = Array.isArray(packet.reasons) ? packet.reasons.filter((r) => typeof r === "string") : [];
    if (reasons.length) {
      const chips = el("div", "chips");
      for (const reason of reasons) chips.appendChild(el("span", "chip chip-warn", reasonLabel(reason)));
      body.appendChild(section(t("reasonsTitle"), [chips]));
    }

    if (str(packet.message)) {
      const note = el("blockquote", "ticket-note", str(packet.message));
      body.appendChild(section(t("note"), [note]));
    }

    const customer = packet.customer && typeof packet.customer === "object" ? packet.customer : {};
    const facts = el("dl", "facts");
    for (const key of ["product", "plan", "locale", "customer_id"]) {
      if (!str(customer[key])) continue;
      facts.appendChild(el("dt", "", t(`customer_${key}`)));
      facts.appendChild(el("dd", "", key === "product" ? productLabel(str(customer[key])) : str(customer[key])));
    }
    body.appendChild(section(t("customer"), [facts.firstChild ? facts : el("p", "muted", t("noContext"))]));

    const frustration = packet.frustration && typeof packet.frustration === "object" ? packet.frustration : {};
    const trend = Array.isArray(frustration.trend) ? frustration.trend : [];
    const spark = sparkline(trend);
    if (spark || percent(frustration.latest) !== null) {
      const direction = ["rising", "steady", "falling"].includes(frustration.direction) ? frustration.direction : "steady";
      const line = el("p", `trend-text trend-${direction}`,
        t("trendSummary", percent(frustration.latest) ?? 0, percent(frustration.peak) ?? 0, t(`direction_${direction}`)));
      const row = el("div", "trend");
      if (spark) row.appendChild(spark);
      row.appendChild(line);
      body.appendChild(section(t("trend"), [row]));
    }

    const tried = Array.isArray(packet.tried) ? packet.tried.filter((x) => typeof x === "string" && x) : [];
    if (tried.length) {
      const list = el("ul", "tried");
      for (const line of tried) list.appendChild(el("li", "", line));
      body.appendChild(section(t("tried"), [list]));
    }

    const turns = Array.isArray(packet.conversation) ? packet.conversation.filter((x) => x && typeof x === "object") : [];
    if (turns.length) {
      const list = el("ol", "turns");
      for (const turn of turns) list.appendChild(turnItem(turn));
      body.appendChild(section(t("conversation"), [list]));
    }

    const sources = Array.isArray(packet.sources) ? packet.sources.filter((x) => x && typeof x === "object") : [];
    if (sources.length) {
      const list = el("ul", "ticket-sources");
      for (const source of sources) {
        const item = el("li", "");
        item.appendChild(badge(audienceOf(source)));
        item.appendChild(document.createTextNode(" "));
        item.appendChild(sourceLink(str(source.title) || str(source.url), source.url, { className: "citation" }));
        if (str(source.source)) item.appendChild(el("code", "citation-source", str(source.source)));
        list.appendChild(item);
      }
      body.appendChild(section(t("sources"), [list]));
    }

    const replies = Array.isArray(ticket.replies) ? ticket.replies.filter((x) => x && typeof x.text === "string") : [];
    const thread = el("ol", "ticket-replies");
    for (const reply of replies) {
      const item = el("li", "ticket-reply-item");
      const who = el("span", "ticket-reply-who", str(reply.author));
      item.appendChild(who);
      const at = when(reply.at);
      if (at) {
        const time = el("span", "ticket-age", at);
        time.title = fullTime(reply.at);
        item.appendChild(time);
      }
      item.appendChild(el("p", "ticket-reply-text", reply.text));
      thread.appendChild(item);
    }
    body.appendChild(section(t("replies"), [replies.length ? thread : el("p", "muted", t("noReplies"))]));

    const resolved = ticket.status === "resolved";
    els.claim.hidden = ticket.status !== "open";
    els.resolve.hidden = resolved;
    els.replyForm.hidden = resolved;
  }

  function turnItem(turn) {
    const item = el("li", "turn");
    const asked = el("div", "turn-q");
    asked.appendChild(el("span", "turn-who", t("customerSaid")));
    const question = el("p", "turn-text", str(turn.question));
    if (turn.language === "en" || turn.language === "ko") question.lang = turn.language;
    asked.appendChild(question);
    const meta = el("div", "turn-meta");
    const bar = meter(turn.frustration);
    if (bar) meta.appendChild(bar);
    const cues = Array.isArray(turn.cues) ? turn.cues.filter((c) => typeof c === "string") : [];
    if (cues.length) meta.appendChild(el("span", "turn-cues", t("cues", cues.join(", "))));
    if (meta.firstChild) asked.appendChild(meta);
    item.appendChild(asked);

    const answered = el("div", "turn-a");
    answered.appendChild(el("span", "turn-who", t("assistantSaid")));
    const chips = el("span", "answer-meta");
    if (turn.not_covered) chips.appendChild(el("span", "chip chip-warn", t("notCovered")));
    chips.appendChild(el("span", turn.grounded ? "chip chip-ok" : "chip chip-warn", turn.grounded ? t("grounded") : t("notGrounded")));
    const confidence = percent(turn.confidence);
    if (confidence !== null) chips.appendChild(el("span", "chip", t("confidence", confidence)));
    answered.appendChild(chips);
    const answer = el("p", "turn-text", str(turn.answer));
    if (turn.language === "en" || turn.language === "ko") answer.lang = turn.language;
    answered.appendChild(answer);
    const citations = el("ol", "citations");
    if (renderCitations(citations, turn.citations).size) answered.appendChild(citations);
    item.appendChild(answered);
    return item;
  }

  /** Claim, reply or resolve: the answer is the ticket, shown at once; then the list again. */
  async function act(action, json, doneKey) {
    const ticket = state.ticket;
    if (!ticket) return;
    const buttons = [els.claim, els.resolve, els.replySend];
    buttons.forEach((button) => (button.disabled = true));
    try {
      const updated = await agentJson(ticketUrl(ticket.id, action), { method: "POST", json });
      showTicketError(null);
      state.actionKey = doneKey;
      showTicket(updated);
      if (action === "reply") els.replyText.value = "";
    } catch (error) {
      showTicketError(error, ticket.claimed_by);
      if (error && error.status === 409) loadTicket(ticket.id, false);
    } finally {
      buttons.forEach((button) => (button.disabled = false));
    }
    refreshTickets();
  }

  // ---------------------------------------------------------------- insights

  const CHARTS = ["questions", "languages", "rates", "handoffs", "latency"];
  const REASONS = ["not_covered", "handed_off", "thumbs_down"];
  const num = (value) => (typeof value === "number" && Number.isFinite(value) ? value : null);

  /** A share (0..1) as a percentage with up to one decimal, or a dash. */
  function share(value) {
    const v = num(value);
    if (v === null) return t("none");
    return `${new Intl.NumberFormat(state.lang, { maximumFractionDigits: 1 }).format(v * 100)}%`;
  }

  function millis(value) {
    const v = num(value);
    return v === null ? t("none") : t("ms", new Intl.NumberFormat(state.lang, { maximumFractionDigits: 0 }).format(v));
  }

  const count = (value) => new Intl.NumberFormat(state.lang).format(num(value) ?? 0);
  const label = (prefix, value) => (`${prefix}_${value}` in STRINGS.en ? t(`${prefix}_${value}`) : str(value));

  function insightsQuery() {
    const params = new URLSearchParams();
    if (els.insightsFrom.value) params.set("from", els.insightsFrom.value);
    if (els.insightsTo.value) params.set("to", els.insightsTo.value);
    return params;
  }

  async function loadSources() {
    try {
      state.sources = await agentJson("/api/agent/sources");
    } catch (error) {
      state.sources = { error: (error && error.detail) || t("errorNetwork"), sources: [] };
    }
    renderSources();
  }

  async function loadInsights() {
    loadSources();
    state.insightsLoading = true;
    state.insightsError = null;
    renderInsightsStatus();
    els.insightsApply.disabled = true;
    await state.insightsRequest.run((signal) => agentJson(`/api/agent/insights?${insightsQuery()}`, { signal }), {
      done(body) {
        state.insights = body && typeof body === "object" ? body : null;
      },
      failed(error) {
        state.insightsError = { status: (error && error.status) || 0, detail: (error && error.detail) || "" };
      },
      settled() {
        state.insightsLoading = false;
        els.insightsApply.disabled = false;
        renderInsights();
      },
    });
  }

  function renderInsightsStatus() {
    const body = state.insights;
    const range = body && body.range && typeof body.range === "object" ? body.range : null;
    if (state.insightsLoading) els.insightsStatus.textContent = t("insightsLoading");
    else if (range) els.insightsStatus.textContent = t("insightsRange", str(range.from), str(range.to), num(range.days) ?? 0);
    else els.insightsStatus.textContent = "";
    const error = state.insightsError;
    clear(els.insightsError);
    els.insightsError.hidden = !error;
    if (!error) return;
    let message;
    if (error.status === 401) message = t("error401");
    else if (error.status === 403) message = t("error403");
    else if (error.status) message = t("errorOther", error.status);
    else message = t("errorNetwork");
    els.insightsError.appendChild(el("strong", "", message));
    if (error.detail) els.insightsError.appendChild(el("span", "alert-detail", error.detail));
  }

  function renderInsights() {
    if (!els.viewInsights) return;
    renderInsightsStatus();
    const body = state.insights;
    if (!body) return;
    const range = body.range && typeof body.range === "object" ? body.range : {};
    // The inputs show the range the figures are for (the default one on the first load).
    if (str(range.from)) els.insightsFrom.value = str(range.from);
    if (str(range.to)) els.insightsTo.value = str(range.to);
    const csv = safeHref(body.csv);
    if (csv) els.insightsCsv.href = csv;
    renderKpis(body.totals && typeof body.totals === "object" ? body.totals : {});
    renderCharts(body);
    renderTopQuestions(list(body.top_questions));
    renderFailing(list(body.top_failing));
    renderJourneys(list(body.journeys));
    renderGaps(body.gaps);
    renderReplay(body.replay);
    renderExperiment(list(body.variants), body.experiment);
    renderSources();
  }

  function renderSources() {
    const box = els.insightsSources;
    if (!box) return;
    clear(box);
    const body = state.sources && typeof state.sources === "object" ? state.sources : null;
    if (!body) return;
    if (str(body.error)) box.appendChild(el("p", "alert", t("sourcesFileError", str(body.error))));
    const rows = list(body.sources).map((source) => {
      const last = source.last && typeof source.last === "object" ? source.last : null;
      const outcome = last ? str(last.outcome) : "";
      const outcomeCell = el("td", `outcome outcome-${outcome || "none"}`, outcome ? t(`outcome_${outcome}`) : "");
      if (last && str(last.message)) outcomeCell.title = str(last.message);
      const changes = last ? t("sourceChanges", count(last.added), count(last.changed), count(last.removed), count(last.unchanged), count(last.skipped)) : "";
      const row = h("tr", {}, [
        el("td", "", str(source.name)),
        el("td", "", str(source.type)),
        el("td", "", str(source.schedule) || t("onDemand")),
        el("td", "", last && str(last.finished) ? fullTime(last.finished) : t("neverSynced")),
        outcomeCell,
        el("td", "", changes),
        el("td", "", str(source.next_sync) ? fullTime(source.next_sync) : ""),
      ]);
      row.dataset.source = str(source.name);
      return row;
    });
    if (!rows.length && str(body.error)) return;
    box.appendChild(
      table(
        [t("colSource"), t("colType"), t("colSchedule"), t("colLastSync"), t("colOutcome"), t("colChanges"), t("colNextSync")],
        rows,
        "noSources",
      ),
    );
  }

  const list = (value) => (Array.isArray(value) ? value.filter((x) => x && typeof x === "object") : []);

  function kpi(name, value, note, key) {
    const item = el("div", "kpi");
    item.dataset.kpi = key;
    item.appendChild(el("dt", "kpi-name", name));
    item.appendChild(el("dd", "kpi-value", value));
    if (note) item.appendChild(el("dd", "kpi-note", note));
    return item;
  }

  function renderKpis(totals) {
    clear(els.kpis);
    const items = [
      kpi(t("kpiConversations"), count(totals.conversations), t("kpiQuestions", count(totals.asks), count(totals.searches)), "conversations"),
      kpi(
        t("kpiResolution"),
        share(totals.resolution_rate),
        t("kpiNotHandedOff", share(totals.not_handed_off_rate)) + (num(totals.provisional) ? ` · ${t("kpiProvisional", count(totals.provisional))}` : ""),
        "resolution",
      ),
      kpi(t("kpiNotCovered"), share(totals.not_covered_rate), t("kpiOfAsks"), "not-covered"),
      kpi(t("kpiThumbsDown"), share(totals.thumbs_down_rate), t("kpiOfAsks"), "thumbs-down"),
      kpi(t("kpiHandoffs"), count(totals.handoffs), "", "handoffs"),
      kpi(t("kpiFirst"), millis(totals.first_ms_p50), t("kpiLatency", millis(totals.first_ms_p50), millis(totals.first_ms_p95)), "first"),
      kpi(t("kpiFinal"), millis(totals.total_ms_p50), t("kpiLatency", millis(totals.total_ms_p50), millis(totals.total_ms_p95)), "final"),
    ];
    for (const item of items) els.kpis.appendChild(item);
  }

  /** What each chart shows, in words, for its alt text. */
  function chartSummary(name, body) {
    const daily = list(body.daily);
    const day = (row) => str(row.day).slice(5);
    if (name === "rates") return daily.map((r) => `${day(r)}: ${t("kpiResolution")} ${share(r.resolution_rate)}, ${t("kpiNotCovered")} ${share(r.not_covered_rate)}, ${t("kpiThumbsDown")} ${share(r.thumbs_down_rate)}`).join("; ");
    if (name === "latency") return daily.map((r) => `${day(r)}: ${t("kpiFirst")} ${t("kpiLatency", millis(r.first_ms_p50), millis(r.first_ms_p95))}, ${t("kpiFinal")} ${t("kpiLatency", millis(r.total_ms_p50), millis(r.total_ms_p95))}`).join("; ");
    if (name === "handoffs") return daily.map((r) => `${day(r)}: ${count(r.handoffs)}`).join(", ");
    return daily.map((r) => `${day(r)}: ${count(r.questions)}`).join(", ");
  }

  function renderCharts(body) {
    const urls = body.charts && typeof body.charts === "object" ? body.charts : {};
    for (const name of CHARTS) {
      const img = $(`chart-${name}`);
      if (!img) continue;
      const url = safeHref(urls[name]);
      if (!url) continue;
      // The SVG comes from this origin with the console's credential (the browser sends it
      // with every same-origin request once the page has signed in): an <img>, no script.
      const src = `${url}&lang=${state.lang}`;
      img.alt = t("chartAlt", t(`chart_${name}`), chartSummary(name, body));
      img.onerror = () => {
        img.alt = t("chartFailed");
      };
      if (img.getAttribute("src") !== src) img.src = src;
    }
  }

  function table(headers, rows, emptyKey) {
    if (!rows.length) return el("p", "placeholder", t(emptyKey));
    const head = h("tr", {}, headers.map((text) => h("th", { scope: "col" }, [text])));
    return h("table", { class: "data-table" }, [h("thead", {}, [head]), h("tbody", {}, rows)]);
  }

  function questionCell(row) {
    const cell = el("td", "question-cell", str(row.question));
    const languages = Array.isArray(row.languages) ? row.languages : [];
    if (languages.length === 1 && (languages[0] === "en" || languages[0] === "ko")) cell.lang = languages[0];
    return cell;
  }

  function renderTopQuestions(rows) {
    clear(els.insightsTop);
    els.insightsTop.appendChild(
      table(
        [t("colQuestion"), t("colCount"), t("colLanguages")],
        rows.map((row) =>
          h("tr", {}, [questionCell(row), el("td", "num", count(row.count)), el("td", "", (Array.isArray(row.languages) ? row.languages : []).map(str).join(", "))]),
        ),
        "noQuestions",
      ),
    );
  }

  function renderFailing(rows) {
    clear(els.insightsFailing);
    els.insightsFailing.appendChild(
      table(
        [t("colQuestion"), t("colFailed"), t("colWhy")],
        rows.map((row) => {
          const reasons = row.reasons && typeof row.reasons === "object" ? row.reasons : {};
          const chips = el("td", "chips-cell");
          for (const reason of REASONS) {
            const n = num(reasons[reason]);
            if (n) chips.appendChild(el("span", "chip chip-warn", t(`why_${reason}`, n)));
          }
          return h("tr", {}, [questionCell(row), el("td", "num", t("failedOf", count(row.failed), count(row.asked))), chips]);
        }),
        "noFailing",
      ),
    );
  }

  function outcomeBadge(outcome) {
    const known = ["handed_off", "thumbs_down", "not_covered", "answered", "searched"].includes(outcome) ? outcome : "searched";
    return el("span", `outcome outcome-${known}`, t(`outcome_${known}`));
  }

  function shortId(id) {
    const text = str(id);
    return text.length > 14 ? `${text.slice(0, 12)}…` : text;
  }

  function renderJourneys(rows) {
    clear(els.insightsJourneys);
    els.insightsJourneys.appendChild(
      table(
        [t("colWho"), t("colWhen"), t("colPath"), t("colOutcome"), t("colSteps")],
        rows.map((row) => {
          const who = row.who_kind === "customer" ? t("whoCustomer", str(row.who)) : t("whoVisitor", shortId(row.who));
          const whenCell = el("td", "nowrap", fullTime(row.started_at));
          const path = el("td", "journey-path");
          (Array.isArray(row.surfaces) ? row.surfaces : []).forEach((surface, i) => {
            if (i) path.appendChild(el("span", "journey-arrow", "→"));
            path.appendChild(el("span", "chip", label("surface", surface)));
          });
          const steps = el("ol", "journey-steps");
          for (const step of list(row.steps)) {
            const item = el("li", "");
            const at = Date.parse(step.at);
            item.appendChild(el("span", "step-time", Number.isFinite(at) ? new Date(at).toLocaleTimeString(state.lang, { hour: "2-digit", minute: "2-digit" }) : ""));
            item.appendChild(el("span", "step-what", `${label("surface", step.surface)} · ${label("kind", step.kind)}`));
            if (str(step.text)) {
              const text = el("q", "step-text", str(step.text));
              if (step.language === "en" || step.language === "ko") text.lang = step.language;
              item.appendChild(text);
            }
            if (str(step.outcome)) item.appendChild(el("span", "step-outcome", label("outcome", step.outcome)));
            steps.appendChild(item);
          }
          const details = h("details", {}, [h("summary", {}, [t("stepsCount", num(row.events) ?? 0)]), steps]);
          return h("tr", {}, [el("td", "nowrap", who), whenCell, path, h("td", {}, [outcomeBadge(row.outcome)]), h("td", {}, [details])]);
        }),
        "noJourneys",
      ),
    );
  }

  function renderGaps(gaps) {
    const box = els.insightsGaps;
    clear(box);
    if (!Array.isArray(gaps)) {
      box.appendChild(el("p", "placeholder", t("noGaps")));
      return;
    }
    const rows = list(gaps);
    if (!rows.length) {
      box.appendChild(el("p", "placeholder", t("gapEmpty")));
      return;
    }
    const items = el("ul", "gaps");
    for (const gap of rows) {
      const item = el("li", "gap");
      const head = el("div", "gap-head");
      const kind = gap.kind === "wrong" ? "wrong" : "missing";
      head.appendChild(el("span", `chip ${kind === "wrong" ? "chip-warn" : ""}`, t(`gap_${kind}`)));
      if (str(gap.question)) head.appendChild(el("strong", "gap-question", str(gap.question)));
      head.appendChild(el("span", "", t("gapSize", num(gap.size) ?? 0)));
      // Questions per language ({"ko": 3, "en": 2}), or a list of languages.
      const languages = gap.languages && typeof gap.languages === "object" ? gap.languages : {};
      const perLanguage = Array.isArray(languages)
        ? languages.map(str).join(", ")
        : Object.entries(languages).map(([lang, n]) => `${str(lang)} ${count(n)}`).join(" · ");
      if (perLanguage) head.appendChild(el("span", "muted", perLanguage));
      const reasons = gap.reasons && typeof gap.reasons === "object" ? gap.reasons : {};
      for (const reason of REASONS) {
        const n = num(reasons[reason]);
        if (n) head.appendChild(el("span", "chip chip-warn", t(`why_${reason}`, n)));
      }
      item.appendChild(head);
      const examples = el("ul", "gap-examples");
      for (const example of (Array.isArray(gap.examples) ? gap.examples : []).slice(0, 5)) {
        const text = typeof example === "string" ? example : str(example && example.text);
        const line = el("li", "", text);
        if (example && (example.language === "en" || example.language === "ko")) line.lang = example.language;
        examples.appendChild(line);
      }
      item.appendChild(examples);
      const nearest = gap.nearest && typeof gap.nearest === "object" ? gap.nearest : null;
      if (nearest) {
        const line = el("p", "gap-nearest");
        line.appendChild(document.createTextNode(`${t("gapNearest")}: `));
        line.appendChild(sourceLink(str(nearest.title) || str(nearest.url) || str(nearest.source), nearest.url, { className: "citation" }));
        item.appendChild(line);
      }
      if (str(gap.draft)) {
        item.appendChild(h("details", {}, [h("summary", {}, [t("gapDraft")]), el("pre", "gap-draft", str(gap.draft))]));
      }
      items.appendChild(item);
    }
    box.appendChild(items);
  }

  function renderReplay(replay) {
    const box = els.insightsReplay;
    clear(box);
    if (!replay || typeof replay !== "object") {
      box.appendChild(el("p", "placeholder", t("noReplay")));
      return;
    }
    const inner = el("div", "replay");
    inner.appendChild(el("p", "", t("replayCompared", str(replay.candidate), str(replay.live))));
    if (str(replay.at)) inner.appendChild(el("p", "muted", t("replayAt", fullTime(replay.at))));
    const counts = replay.counts && typeof replay.counts === "object" ? replay.counts : {};
    const fixed = list(replay.fixed);
    const broken = list(replay.broken);
    const facts = el("dl", "facts");
    for (const [key, value] of [["replayQuestions", counts.questions], ["replayFixed", counts.fixed ?? fixed.length], ["replayBroken", counts.broken ?? broken.length]]) {
      facts.appendChild(el("dt", "", t(key)));
      facts.appendChild(el("dd", "", count(value)));
    }
    inner.appendChild(facts);
    const latency = replay.latency_ms && typeof replay.latency_ms === "object" ? replay.latency_ms : {};
    for (const side of ["live", "candidate"]) {
      const figures = latency[side] && typeof latency[side] === "object" ? latency[side] : null;
      if (figures) inner.appendChild(el("p", "muted", t("replayLatency", t(side === "live" ? "replayLive" : "replayCandidate"), millis(figures.p50), millis(figures.p95))));
    }
    for (const [key, items] of [["replayBroken", broken], ["replayFixed", fixed]]) {
      if (!items.length) continue;
      const ul = el("ul", `replay-list replay-${key === "replayBroken" ? "broken" : "fixed"}`);
      for (const item of items.slice(0, 10)) ul.appendChild(el("li", "", str(item.question) || str(item.text)));
      inner.appendChild(h("details", { open: key === "replayBroken" }, [h("summary", {}, [t(key)]), ul]));
    }
    box.appendChild(inner);
  }

  function interval(value) {
    const i = value && typeof value === "object" ? value : {};
    return `[${share(i.low)}, ${share(i.high)}]`;
  }

  function renderExperiment(variants, comparison) {
    const box = els.insightsExperiment;
    clear(box);
    if (variants.length < 2 && !(variants.length === 1 && str(variants[0].variant))) {
      box.appendChild(el("p", "placeholder", t("noExperiment")));
      return;
    }
    box.appendChild(
      table(
        [t("colVariant"), t("colConversations"), t("colResolved"), t("colThumbsDown"), t("colHandoff"), t("colLatency")],
        variants.map((row) =>
          h("tr", {}, [
            el("td", "", str(row.variant) || t("noVariantName")),
            el("td", "num", count(row.conversations)),
            el("td", "num", share(row.resolution_rate)),
            el("td", "num", share(row.thumbs_down_rate)),
            el("td", "num", share(row.handoff_rate)),
            el("td", "num", millis(row.total_ms_p50)),
          ]),
        ),
        "noExperiment",
      ),
    );
    if (!comparison || typeof comparison !== "object") {
      box.appendChild(el("p", "muted experiment-note", t("noComparison")));
      return;
    }
    const rows = list(comparison.rates).map((r) =>
      h("tr", {}, [
        el("td", "", label("metric", r.metric)),
        el("td", "", t("versus", str(r.variant), str(r.control))),
        el("td", "num", `${share(num(r.difference))} ${interval(r.interval)}`),
        el("td", r.significant ? "verdict is-significant" : "verdict", str(r.verdict)),
      ]),
    );
    for (const r of list(comparison.latency)) {
      const i = r.interval && typeof r.interval === "object" ? r.interval : {};
      rows.push(
        h("tr", {}, [
          el("td", "", t("metric_latency")),
          el("td", "", t("versus", str(r.variant), str(r.control))),
          el("td", "num", `${millis(r.median_difference)} [${millis(i.low)}, ${millis(i.high)}]`),
          el("td", r.significant ? "verdict is-significant" : "verdict", str(r.verdict)),
        ]),
      );
    }
    box.appendChild(table([t("colMetric"), t("colVariant"), t("colDifference"), t("colVerdict")], rows, "noExperiment"));
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

    els.tabKb.addEventListener("click", () => setView("kb", false));
    els.tabTickets.addEventListener("click", () => setView("tickets", false));
    els.tabInsights.addEventListener("click", () => setView("insights", false));
    els.tabKb.addEventListener("keydown", onViewTabKeydown);
    els.tabTickets.addEventListener("keydown", onViewTabKeydown);
    els.tabInsights.addEventListener("keydown", onViewTabKeydown);
    els.insightsForm.addEventListener("submit", (event) => {
      event.preventDefault();
      loadInsights();
    });
    els.ticketFilter.addEventListener("change", refreshTickets);
    els.ticketsRefresh.addEventListener("click", refreshTickets);
    els.ticketList.addEventListener("click", (event) => {
      const row = event.target.closest("button.ticket-row");
      if (row) loadTicket(row.dataset.id, true);
    });
    els.claim.addEventListener("click", () => act("claim", {}, "claimed"));
    els.resolve.addEventListener("click", () => act("resolve", {}, "resolved"));
    els.replyForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = els.replyText.value.trim();
      if (!text) {
        state.ticketError = { message: "replyEmpty" };
        renderTicketError();
        els.replyText.focus();
        return;
      }
      act("reply", { text }, "replied");
    });

    loadConfig();
    // The list also fills the tab's count of open tickets; it refreshes while the tab is shown.
    refreshTickets();
    setView(window.location.hash.slice(1), false);
    els.query.focus();
  }

  whenReady(init);
})();
