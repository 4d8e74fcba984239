"""Seeded help-center corpora: product manuals (Markdown) and FAQ files (YAML), English and Korean.

Document ``i`` of a seed is always the same text (its own ``random.Random``), so the corpus of
10k chunks is the first documents of the one of 50k, and "1% new documents" are simply the next
indices. Each product gets a made-up name (``Velo Dock 7``, ``코랄 허브 3``), a category with its
own parts and features, and sections drawn from a pool of templates with numbers, menu paths,
colours and durations filled in, so BM25 sees distinctive terms and the embeddings see more than
one sentence repeated. Chunks are counted with helpdesk's own loader and chunker, so a corpus
"of 10k chunks" is what ingest will index (within one document).

The generated folders live under a cache directory (``.cache/bench/corpora`` by default), never in
git; a folder is reused when its marker says it was made with the same seed and size.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

GENERATOR_VERSION = 1

_NAME_A = [
    "Velo",
    "Aura",
    "Lumo",
    "Nimbus",
    "Coral",
    "Pixel",
    "Orbit",
    "Terra",
    "Nova",
    "Echo",
    "Flux",
    "Halo",
    "Kite",
    "Mira",
    "Onyx",
    "Pulse",
    "Quill",
    "Rivet",
    "Sable",
    "Tidal",
    "Umbra",
    "Vanta",
    "Willow",
    "Zephyr",
    "Amber",
    "Birch",
    "Cinder",
    "Dune",
    "Ember",
    "Fjord",
    "Garnet",
    "Harbor",
    "Iris",
    "Jade",
    "Krill",
    "Larch",
    "Maple",
    "Nectar",
    "Opal",
    "Pine",
    "Quartz",
    "Reed",
    "Slate",
    "Thorn",
]
_NAME_KO = [
    "벨로",
    "아우라",
    "루모",
    "님버스",
    "코랄",
    "픽셀",
    "오르빗",
    "테라",
    "노바",
    "에코",
    "플럭스",
    "헤일로",
    "카이트",
    "미라",
    "오닉스",
    "펄스",
    "퀼",
    "리벳",
    "세이블",
    "타이달",
    "움브라",
    "반타",
    "윌로",
    "제피르",
    "앰버",
    "버치",
    "신더",
    "듄",
    "엠버",
    "피요르드",
    "가넷",
    "하버",
    "아이리스",
    "제이드",
    "크릴",
    "라치",
    "메이플",
    "넥타",
    "오팔",
    "파인",
    "쿼츠",
    "리드",
    "슬레이트",
    "쏜",
]

# category: (English noun, Korean noun, parts, Korean parts, features, Korean features)
_Names = tuple[str, ...]
_CATEGORIES: tuple[tuple[str, str, _Names, _Names, _Names, _Names], ...] = (
    ("Speaker", "스피커", ("woofer", "light ring", "microphone array", "power adapter"),
     ("우퍼", "라이트 링", "마이크", "전원 어댑터"),
     ("multi-room audio", "voice assistant", "Bluetooth pairing", "stereo pairing"),
     ("멀티룸 오디오", "음성 비서", "블루투스 페어링", "스테레오 페어링")),
    ("Cam", "캠", ("lens", "infrared LEDs", "magnetic mount", "battery pack"),
     ("렌즈", "적외선 LED", "자석 거치대", "배터리 팩"),
     ("motion zones", "night vision", "two-way talk", "cloud recording"),
     ("모션 구역", "야간 투시", "양방향 통화", "클라우드 녹화")),
    ("Hub", "허브", ("Ethernet port", "Zigbee radio", "backup battery", "status LED"),
     ("이더넷 포트", "지그비 무선", "백업 배터리", "상태 LED"),
     ("automations", "device groups", "local control", "energy reports"),
     ("자동화", "기기 그룹", "로컬 제어", "에너지 리포트")),
    ("Thermostat", "온도조절기", ("dial", "temperature sensor", "wall plate", "C-wire adapter"),
     ("다이얼", "온도 센서", "벽면 플레이트", "C선 어댑터"),
     ("eco schedule", "geofencing", "humidity control", "filter reminders"),
     ("절약 일정", "지오펜싱", "습도 조절", "필터 교체 알림")),
    ("Doorbell", "초인종", ("chime", "button", "wedge kit", "transformer"),
     ("차임", "버튼", "각도 키트", "변압기"),
     ("package detection", "quick replies", "visitor log", "privacy masks"),
     ("택배 감지", "빠른 응답", "방문자 기록", "사생활 마스크")),
    ("Lock", "도어락", ("keypad", "thumb turn", "deadbolt", "AA batteries"),
     ("키패드", "손잡이", "데드볼트", "AA 건전지"),
     ("guest codes", "auto-lock", "fingerprint unlock", "access history"),
     ("게스트 비밀번호", "자동 잠금", "지문 잠금 해제", "출입 기록")),
    ("Plug", "스마트 플러그", ("relay", "power button", "status light", "socket"),
     ("릴레이", "전원 버튼", "상태 표시등", "콘센트"),
     ("schedules", "away mode", "power monitoring", "child lock"),
     ("예약", "외출 모드", "전력 모니터링", "어린이 보호 잠금")),
    ("Vacuum", "로봇청소기", ("brush roll", "dust bin", "charging dock", "cliff sensors"),
     ("브러시", "먼지통", "충전 거치대", "낙하 방지 센서"),
     ("room mapping", "no-go zones", "mopping", "carpet boost"),
     ("방 지도", "금지 구역", "물걸레", "카펫 부스트")),
    ("Router", "공유기", ("antennas", "WAN port", "reset pinhole", "mesh satellite"),
     ("안테나", "WAN 포트", "초기화 구멍", "메시 위성"),
     ("parental controls", "guest network", "band steering", "WPA3"),
     ("자녀 보호", "게스트 네트워크", "대역 조정", "WPA3")),
    ("Scale", "체중계", ("glass platform", "electrodes", "display", "coin cells"),
     ("유리 상판", "전극", "디스플레이", "코인 전지"),
     ("body composition", "multiple profiles", "trend charts", "pregnancy mode"),
     ("체성분 측정", "여러 사용자 프로필", "추이 그래프", "임신 모드")),
)  # fmt: skip

_COLOURS = ("orange", "blue", "white", "green", "red", "purple", "amber")
_COLOURS_KO = ("주황색", "파란색", "흰색", "초록색", "빨간색", "보라색", "호박색")
_MENUS = ("Settings", "Device info", "Network", "Advanced", "Notifications", "Privacy", "Power")
_MENUS_KO = ("설정", "기기 정보", "네트워크", "고급", "알림", "개인정보", "전원")
_PLANS = ("basic", "plus", "premium")

_EN_SECTIONS: dict[str, tuple[str, ...]] = {
    "Setup": (
        "Plug the {name} into power and wait until the {part} blinks {colour}. Open the {app} "
        "app, tap + > Add device > {name}, and follow the prompts. Setup usually takes about "
        "{minutes} minutes.",
        "Before you start, make sure your phone runs app version {version} or later and that "
        "Bluetooth is on. The {name} needs a {band} GHz network during setup.",
        "If the {name} is not found, hold the {part} for {seconds} seconds until it blinks "
        "{colour}, then search again.",
    ),
    "Connecting to Wi-Fi": (
        "The {name} joins {band} GHz networks with WPA2 or WPA3. Networks that need a sign-in "
        "page, such as hotel Wi-Fi, are not supported.",
        "To change networks, open {menu} > Network > Wi-Fi in the {app} app and pick the new "
        "network. The {name} keeps its settings while it reconnects.",
        "If the signal is weak, move the {name} within {metres} metres of the router or add a "
        "mesh point. The {part} pulses {colour} while it searches for a network.",
    ),
    "Battery and power": (
        "A full charge takes about {hours} hours with the included cable and lasts up to "
        "{days} days with {feature} turned on.",
        "When the battery falls below {percent}%, the app sends a reminder and the {part} turns "
        "{colour}. Use only the supplied {volts} V adapter.",
        "To save power, turn off {feature} under {menu} > Power, or shorten the recording length "
        "to {seconds} seconds.",
    ),
    "Using {feature}": (
        "{Feature} is available on the {plan} plan and above. Turn it on under {menu} > "
        "{Feature} in the {app} app.",
        "You can set up to {count} rules for {feature}. Each rule can run on a schedule, for "
        "example every weekday at {clock}.",
        "{Feature} works with the {part}; if the {part} is covered or unplugged, the app shows "
        "error {code}.",
    ),
    "Troubleshooting": (
        "If the {name} stops responding, unplug it for {seconds} seconds and plug it back in. "
        "Your settings are kept.",
        "Error {code} means the {name} lost its connection to the {app} cloud. Check your "
        "internet connection, then restart the router.",
        "A {colour} light on the {part} that blinks twice a second means a firmware update is "
        "installing: do not unplug the {name} for about {minutes} minutes.",
    ),
    "Factory reset": (
        "Press and hold the {part} for {seconds} seconds until the light turns {colour}. The "
        "{name} erases its settings and restarts in setup mode.",
        "After a reset, remove the {name} from the {app} app under {menu} > Remove device, then "
        "add it again.",
    ),
    "Warranty and returns": (
        "The {name} comes with a {years}-year limited warranty from the date of purchase. "
        "Keep your receipt or order number {order}.",
        "You can return an unopened {name} within {days} days for a full refund. Opened items "
        "can be returned within {short} days if they are in their original packaging.",
        "Damage from water, drops or unofficial repairs is not covered. Premium plan members get "
        "an advance replacement shipped within {hours} hours.",
    ),
    "Specifications": (
        "Size: {w} x {h} x {d} mm. Weight: {grams} g. Operating temperature: {tmin} to {tmax} "
        "degrees Celsius.",
        "Wireless: Wi-Fi {band} GHz, Bluetooth {bt}. Power: {volts} V DC. Model number {model}.",
    ),
    "Cleaning and care": (
        "Wipe the {name} with a soft, dry cloth. Do not use alcohol or window cleaner on the "
        "{part}.",
        "Clean the {part} every {weeks} weeks; a dusty {part} can shorten the life of the "
        "{name} and trigger error {code}.",
    ),
    "Privacy": (
        "The {name} stores recordings for {days} days on the {plan} plan. You can delete them at "
        "any time under {menu} > Privacy > History.",
        "Turn on privacy mode to stop the {part} from recording; the {part} glows {colour} while "
        "privacy mode is on.",
    ),
}

_KO_SECTIONS: dict[str, tuple[str, ...]] = {
    "설치하기": (
        "{name}을(를) 전원에 연결하고 {part}이(가) {colour}으로 깜박일 때까지 기다리세요. {app} 앱에서 "
        "+ > 기기 추가 > {name}을(를) 누르고 안내를 따르세요. 설치는 보통 {minutes}분 정도 걸립니다.",
        "시작하기 전에 휴대폰의 앱 버전이 {version} 이상인지, 블루투스가 켜져 있는지 확인하세요. 설치 "
        "중에는 {band}GHz 네트워크가 필요합니다.",
        "{name}이(가) 검색되지 않으면 {part}을(를) {seconds}초 동안 길게 눌러 {colour}으로 깜박이게 한 "
        "뒤 다시 검색하세요.",
    ),
    "와이파이 연결": (
        "{name}은(는) WPA2 또는 WPA3 보안의 {band}GHz 네트워크에 연결됩니다. 호텔 와이파이처럼 "
        "로그인 페이지가 필요한 네트워크는 지원하지 않습니다.",
        "네트워크를 바꾸려면 {app} 앱에서 {menu} > 네트워크 > 와이파이를 열고 새 네트워크를 "
        "고르세요. 다시 연결되는 동안에도 설정은 유지됩니다.",
        "신호가 약하면 {name}을(를) 공유기에서 {metres}미터 이내로 옮기거나 메시 기기를 추가하세요.",
    ),
    "배터리와 전원": (
        "동봉된 케이블로 완전히 충전하는 데 약 {hours}시간이 걸리며, {feature}을(를) 켠 상태로 최대 "
        "{days}일 동안 사용할 수 있습니다.",
        "배터리가 {percent}% 아래로 떨어지면 앱이 알림을 보내고 {part}이(가) {colour}으로 바뀝니다. "
        "반드시 동봉된 {volts}V 어댑터만 사용하세요.",
    ),
    "{feature} 사용하기": (
        "{feature}은(는) {plan} 요금제 이상에서 쓸 수 있습니다. {app} 앱의 {menu} > {feature}에서 "
        "켜세요.",
        "{feature} 규칙은 최대 {count}개까지 만들 수 있고, 평일 {clock}처럼 일정에 맞춰 실행할 수 "
        "있습니다.",
        "{part}이(가) 가려지거나 분리되면 앱에 오류 {code}이(가) 표시됩니다.",
    ),
    "문제 해결": (
        "{name}이(가) 응답하지 않으면 전원을 {seconds}초 동안 뽑았다가 다시 꽂으세요. 설정은 "
        "그대로 유지됩니다.",
        "오류 {code}은(는) {name}이(가) {app} 클라우드와 연결이 끊겼다는 뜻입니다. 인터넷 연결을 "
        "확인한 뒤 공유기를 다시 시작하세요.",
        "{part}에 {colour} 불빛이 1초에 두 번 깜박이면 펌웨어를 업데이트하는 중입니다. 약 {minutes}분 "
        "동안 전원을 뽑지 마세요.",
    ),
    "초기화": (
        "{part}을(를) {seconds}초 동안 길게 눌러 불빛이 {colour}으로 바뀌면 {name}의 설정이 지워지고 "
        "설치 모드로 다시 시작됩니다.",
        "초기화한 뒤에는 {app} 앱의 {menu} > 기기 삭제에서 {name}을(를) 지우고 다시 추가하세요.",
    ),
    "보증과 반품": (
        "{name}의 보증 기간은 구매일로부터 {years}년입니다. 영수증이나 주문 번호 {order}을(를) "
        "보관하세요.",
        "개봉하지 않은 {name}은(는) {days}일 이내에 전액 환불받을 수 있습니다. 개봉한 제품은 원래 "
        "포장 그대로라면 {short}일 이내에 반품할 수 있습니다.",
        "침수, 낙하, 비공식 수리로 인한 손상은 보증되지 않습니다.",
    ),
    "제품 사양": (
        "크기: {w} x {h} x {d}mm. 무게: {grams}g. 사용 온도: {tmin}~{tmax}도.",
        "무선: 와이파이 {band}GHz, 블루투스 {bt}. 전원: DC {volts}V. 모델 번호 {model}.",
    ),
    "개인정보": (
        "{plan} 요금제에서는 녹화 영상이 {days}일 동안 보관됩니다. {menu} > 개인정보 > 기록에서 "
        "언제든 삭제할 수 있습니다.",
        "사생활 보호 모드를 켜면 {part}이(가) 녹화를 멈추고 {colour}으로 빛납니다.",
    ),
}

_EN_FAQ: tuple[tuple[str, str], ...] = (
    ("How do I set up my {name}?", "Setup"),
    ("Why does the {part} on my {name} blink {colour}?", "Troubleshooting"),
    ("Does the {name} work with {band} GHz Wi-Fi?", "Connecting to Wi-Fi"),
    ("How long does the {name} battery last?", "Battery and power"),
    ("How do I turn on {feature}?", "Using {feature}"),
    ("What does error {code} mean on the {name}?", "Troubleshooting"),
    ("How do I factory reset the {name}?", "Factory reset"),
    ("Can I return my {name} after opening it?", "Warranty and returns"),
    ("How big is the {name} and what does it weigh?", "Specifications"),
    ("How do I delete recordings from the {name}?", "Privacy"),
    ("how do i clean the {part} on my {name}", "Cleaning and care"),
    ("{name} keeps going offline, what can I do?", "Connecting to Wi-Fi"),
)
_KO_FAQ: tuple[tuple[str, str], ...] = (
    ("{name}은(는) 어떻게 설치하나요?", "설치하기"),
    ("{name}의 {part}이(가) {colour}으로 깜박여요", "문제 해결"),
    ("{name}이(가) {band}GHz 와이파이에 연결되나요?", "와이파이 연결"),
    ("{name} 배터리는 얼마나 가나요?", "배터리와 전원"),
    ("{feature}은(는) 어떻게 켜나요?", "{feature} 사용하기"),
    ("{name}에 오류 {code}이(가) 떠요", "문제 해결"),
    ("{name}을(를) 초기화하는 방법을 알려주세요", "초기화"),
    ("개봉한 {name}도 반품할 수 있나요?", "보증과 반품"),
    ("{name} 크기와 무게가 어떻게 되나요?", "제품 사양"),
    ("{name} 녹화 기록은 어떻게 지우나요?", "개인정보"),
    ("{name}이(가) 자꾸 오프라인이 돼요", "와이파이 연결"),
)


@dataclass(frozen=True)
class Product:
    index: int
    language: str  # "en" or "ko"
    kind: str  # "manual" or "faq"
    slug: str
    name: str
    values: dict[str, str]


def _product(seed: int, index: int) -> tuple[Product, random.Random]:
    rng = random.Random(f"{seed}:{index}")
    language = "en" if (index // 2) % 2 == 0 else "ko"
    kind = "manual" if index % 2 == 0 else "faq"
    category = rng.choice(_CATEGORIES)
    number = rng.randint(2, 9) + 10 * (index // (len(_NAME_A) * len(_CATEGORIES)))
    which = rng.randrange(len(_NAME_A))
    ko = language == "ko"
    noun = category[1] if ko else category[0]
    name = f"{(_NAME_KO if ko else _NAME_A)[which]} {noun} {number}"
    parts = category[3] if ko else category[2]
    features = category[5] if ko else category[4]
    colour = rng.randrange(len(_COLOURS))
    feature = rng.choice(features)
    values = {
        "name": name,
        "app": rng.choice(("Nimbus Home", "HomeLink", "Orbit Living", "SmartNest")),
        "part": rng.choice(parts),
        "feature": feature,
        "Feature": feature[:1].upper() + feature[1:],
        "colour": (_COLOURS_KO if ko else _COLOURS)[colour],
        "menu": rng.choice(_MENUS_KO if ko else _MENUS),
        "plan": rng.choice(_PLANS),
        "version": f"{rng.randint(3, 9)}.{rng.randint(0, 20)}",
        "band": rng.choice(("2.4", "5", "6")),
        "minutes": str(rng.randint(2, 25)),
        "seconds": str(rng.choice((5, 10, 15, 20, 30))),
        "metres": str(rng.randint(3, 15)),
        "hours": str(rng.randint(2, 48)),
        "days": str(rng.choice((7, 14, 30, 60, 90, 180))),
        "short": str(rng.choice((7, 14, 15))),
        "percent": str(rng.choice((5, 10, 15, 20))),
        "volts": str(rng.choice((5, 9, 12, 24))),
        "count": str(rng.randint(3, 50)),
        "clock": f"{rng.randint(5, 22):02d}:{rng.choice((0, 15, 30, 45)):02d}",
        "code": f"E{rng.randint(100, 999)}",
        "years": str(rng.randint(1, 3)),
        "order": f"NB-{rng.randint(100000, 999999)}",
        "w": str(rng.randint(40, 400)),
        "h": str(rng.randint(40, 400)),
        "d": str(rng.randint(20, 200)),
        "grams": str(rng.randint(80, 4000)),
        "tmin": str(rng.randint(-20, 5)),
        "tmax": str(rng.randint(35, 55)),
        "bt": rng.choice(("4.2", "5.0", "5.3")),
        "model": f"{name.split()[0][:2].upper()}{rng.randint(1000, 9999)}",
        "weeks": str(rng.randint(1, 12)),
    }
    slug = f"p{index:06d}"
    return Product(index, language, kind, slug, name, values), rng


def _fill(template: str, values: dict[str, str]) -> str:
    return template.format(**values)


def _sections(product: Product, rng: random.Random) -> list[tuple[str, str]]:
    pool = _KO_SECTIONS if product.language == "ko" else _EN_SECTIONS
    names = list(pool)
    rng.shuffle(names)
    chosen = names[: rng.randint(5, len(names))]
    sections: list[tuple[str, str]] = []
    for heading in chosen:
        templates = list(pool[heading])
        rng.shuffle(templates)
        # one paragraph, or two: a section is one chunk or, now and then, two
        sentences = templates[: rng.randint(1, len(templates))]
        paragraphs = [" ".join(_fill(t, product.values) for t in sentences)]
        if rng.random() < 0.3:
            paragraphs.append(_fill(rng.choice(pool[heading]), product.values))
        sections.append((_fill(heading, product.values), "\n\n".join(paragraphs)))
    return sections


def render(seed: int, index: int) -> tuple[str, str]:
    """Document ``index`` of corpus ``seed``: (relative path, text)."""
    product, rng = _product(seed, index)
    lang = product.language
    updated = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    url = f"https://help.example.com/{lang}/{product.kind}/{product.slug}"
    sections = _sections(product, rng)
    if product.kind == "manual":
        title = f"{product.name} 사용 설명서" if lang == "ko" else f"{product.name} User Guide"
        intro = (
            f"{product.name}의 설치, 사용법, 문제 해결을 안내합니다."
            if lang == "ko"
            else f"This guide covers setting up, using and troubleshooting the {product.name}."
        )
        body = "\n\n".join(f"## {heading}\n\n{text}" for heading, text in sections)
        front = {
            "title": title,
            "url": url,
            "language": lang,
            "audience": "public",
            "product": product.slug,
            "updated": updated,
        }
        head = yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
        text = f"---\n{head}---\n\n# {title}\n\n{intro}\n\n{body}\n"
        return f"manuals/{lang}/{product.slug}.md", text
    answers = dict(sections)
    pool = _KO_SECTIONS if lang == "ko" else _EN_SECTIONS
    faqs = []
    for n, (question, section) in enumerate(_KO_FAQ if lang == "ko" else _EN_FAQ):
        heading = _fill(section, product.values)
        answer = answers.get(heading) or _fill(rng.choice(pool[section]), product.values)
        entry: dict[str, Any] = {
            "id": f"{product.slug}-{n}",
            "question": _fill(question, product.values),
            "answer": answer.replace("\n\n", " "),
            "category": heading,
            "product": product.slug,
        }
        if rng.random() < 0.1:
            entry["plans"] = ["plus", "premium"]
        faqs.append(entry)
    title = f"{product.name} 자주 묻는 질문" if lang == "ko" else f"{product.name} FAQ"
    data = {
        "title": title,
        "language": lang,
        "audience": "public",
        "url": url,
        "updated": updated,
        "faqs": faqs,
    }
    return f"faq/{lang}/{product.slug}.yaml", yaml.safe_dump(
        data, allow_unicode=True, sort_keys=False, width=1000
    )


def questions(seed: int, documents: int, count: int) -> list[str]:
    """``count`` distinct customer questions about the corpus' first ``documents`` products,
    Korean and English, worded like a search box (for the load test)."""
    rng = random.Random(f"{seed}:questions")
    found: list[str] = []
    seen: set[str] = set()
    attempts = 0
    while len(found) < count and attempts < count * 20:
        attempts += 1
        product, _ = _product(seed, rng.randrange(max(1, documents)))
        pool = _KO_FAQ if product.language == "ko" else _EN_FAQ
        question = _fill(rng.choice(pool)[0], product.values)
        if rng.random() < 0.4:  # shorter, typed the way people search
            words = question.rstrip("?").split()
            question = " ".join(words[: max(2, len(words) - rng.randint(1, 3))])
        if question not in seen:
            seen.add(question)
            found.append(question)
    return found


def chunk_count(path: Path, root: Path) -> int:
    """How many chunks helpdesk's own loader and chunker make of one file."""
    from helpdesk.config import Settings
    from helpdesk.documents import chunk_document, load_document

    settings = Settings()
    document = load_document(path, root)
    return len(chunk_document(document, settings.chunk_size, settings.chunk_overlap))


@dataclass(frozen=True)
class Corpus:
    folder: Path
    seed: int
    documents: int
    chunks: int

    def add_documents(self, fraction: float) -> list[Path]:
        """Write the next ``fraction`` of documents (new products) into the folder."""
        extra = max(1, round(self.documents * fraction))
        written: list[Path] = []
        for index in range(self.documents, self.documents + extra):
            relative, text = render(self.seed, index)
            path = self.folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
        return written


def build(cache: Path, target_chunks: int, seed: int = 1) -> Corpus:
    """The corpus of about ``target_chunks`` chunks, generated once into ``cache``."""
    folder = cache / f"seed{seed}-chunks{target_chunks}"
    marker = cache / f"{folder.name}.json"  # beside the folder: ingest would read it
    if marker.exists():
        meta = json.loads(marker.read_text())
        if meta.get("version") == GENERATOR_VERSION:
            return Corpus(folder, seed, int(meta["documents"]), int(meta["chunks"]))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    chunks = 0
    index = 0
    while chunks < target_chunks:
        relative, text = render(seed, index)
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        chunks += chunk_count(path, folder)
        index += 1
    meta = {"version": GENERATOR_VERSION, "seed": seed, "documents": index, "chunks": chunks}
    marker.write_text(json.dumps(meta))
    return Corpus(folder, seed, index, chunks)
