"""Pattern detectors: cheap scores in [0, 1] that feed the model as features (SPEC section 3).

``DETECTOR_NAMES`` fixes the feature order of ``feature_vector``; it is part of the model's input contract:
**never reorder or remove a name, only append**.

| # | name | score meaning (0 = no sign; > 0.5 = "fires") |
|---|---|---|
| 0 | ``encoding`` | a Base64 / hex / percent / HTML-entity / ``\\u`` blob decodes to *readable text*: the best such view's text quality (``views.text_quality``: printable, word-like tokens in any language, English words, not structured data). Hashes, UUIDs, binary blobs score 0; JWT / JSON payloads stay low; percent-encoding that escapes only spaces and punctuation (query strings) is scaled down to <= 0.45 of its quality |
| 1 | ``flip`` | FlipAttack: words or sentences read better reversed (FCW / FCS) or in reversed order (FWO): share of non-words repaired (x min(1, repairs / 3)) or word-order gain, + 0.15 when the text talks about flipping; the FlipAttack instruction itself ("flipping each character / word") adds 0.6 (noisy-or) |
| 2 | ``homoglyph`` | look-alike characters folded by ``normalize``: 1 word 0.36, 2 words 0.59, 3 words 0.74, ... (+ unfolded mixed-script words, small weight) |
| 3 | ``encryption`` | CodeChameleon-style cipher instructions (noisy-or): ``ProblemSolver`` / ``encrypted_problem`` / ``def decryption`` 0.6, "decryption function" 0.35, tree / ``[{word: index}]`` encodings 0.5 / 0.4, "decode ... and follow" 0.35, a decrypted view 0.6 x its confidence; ordinary "cipher" / "base64" words 0.2-0.3 |
| 4 | ``typoglycemia`` | 1.6 x (share of non-words of >= 4 letters that unscramble to a dictionary word, first / last letter kept, x min(1, repairs / 3)); needs >= 2 distinct repairs and a repaired text that is mostly English |
| 5 | ``invisible`` | invisible characters removed: 1 -> 0.30, 2 -> 0.50, 4 -> 0.75; Unicode tag smuggling >= 0.9; bidi controls >= 0.6 |
| 6 | ``hidden_markup`` | hidden content surfaced: HTML / Markdown comment 0.35, CSS-hidden element 0.6, + 0.2 if the hidden part is a sentence (>= 3 words of prose), + 0.1 if it addresses the model (imperative first word, "you", "assistant"), + 0.5 x its injection-lexicon score |
| 7 | ``spaced`` | 1.5 x share of letters written spaced out (``i g n o r e``, ``i.g.n``) that join into words; run-together words (``ignoreallprevious``) 0.8 x (words found / 8) |
| 8 | ``leetspeak`` | 2 x share of tokens that read as dictionary words after undoing leetspeak (``1gn0r3``) |
| 9 | ``cipher`` | a ROT13 / Caesar shift turns non-words into words: share of non-words repaired x min(1, repairs / 3) (needs >= 3 distinct repairs); a shift found by letter frequencies alone (another language) counts half |
| 10 | ``instruction_override`` | "ignore / forget / disregard ... (previous) instructions / rules" lexicon in 20+ languages: verb + object 0.45, + 0.35 with "previous / above / all / system", + phrases like "from now on", "new instructions" |
| 11 | ``prompt_leak`` | "reveal / print / repeat ... system prompt / your instructions / the text above": verb + object 0.7, the object alone 0.3 |
| 12 | ``role_markers`` | fake chat-template or role markers: ``<\\|im_start\\|>``, ``[INST]``, ``<<SYS>>``, ``SYSTEM:`` lines, ``<system>`` tags, "END OF INPUT" |
| 13 | ``jailbreak_persona`` | jailbreak persona / rule-removal lexicon: DAN, "developer mode", "no restrictions", "never refuse", "stay in character", "amoral AI" ... (noisy-or of weighted phrases) |
| 14 | ``payload_split`` | string variables concatenated into a hidden instruction (``a = "..."; z = a + b``): 0.45 + 0.3 x quality of the joined text, + 0.2 with "SmartGPT" / "concatenate" |
| 15 | ``decoded_attack`` | the injection / leak / persona lexicon fires on a decoded view more than on the text itself (an encoded attack): the largest gain, x (0.5 + 0.5 x the view's confidence) |

Every detector is linear in the input (bounded regexes over at most ``MAX_SCAN_CHARS`` characters) and never
raises; ``detect`` returns 0 for a detector that failed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from tinyguardrail.text.normalize import Normalized, normalize
from tinyguardrail.text.views import DEFAULT_LIMITS, Limits, View, make_views, text_quality

__all__ = ["DETECTOR_NAMES", "detect", "feature_vector", "analyze", "Analysis", "lexicon_scores"]

DETECTOR_NAMES: tuple[str, ...] = (
    "encoding",
    "flip",
    "homoglyph",
    "encryption",
    "typoglycemia",
    "invisible",
    "hidden_markup",
    "spaced",
    "leetspeak",
    "cipher",
    "instruction_override",
    "prompt_leak",
    "role_markers",
    "jailbreak_persona",
    "payload_split",
    "decoded_attack",
)
"""Feature order of ``feature_vector``: append only, never reorder."""

#: Characters of a text the lexicon detectors look at.
MAX_SCAN_CHARS = 20_000

_ENCODING_VIEWS = frozenset({"base64", "hex", "url", "html_entities", "unicode_escape"})
_FLIP_VIEWS = frozenset({"fcw", "fcs", "fwo"})


def _noisy_or(weights: Iterable[float]) -> float:
    p = 1.0
    for w in weights:
        p *= 1.0 - max(0.0, min(1.0, w))
    return 1.0 - p


# =========================================================================================== lexicons

# --- gated lexicon machinery --------------------------------------------------------------------------------------

_PUNCT_CHARS = b"!\"#$%&'()*+,./:;<=>?@[\\]^`{|}~-\t\n\r\x0b\x0c"
_PUNCT_TABLE = bytes.maketrans(_PUNCT_CHARS, b" " * len(_PUNCT_CHARS))


class _Txt:
    """A text prepared once for the lexicon detectors: lower-cased, and its set of words (as UTF-8 bytes)."""

    __slots__ = ("text", "low", "non_ascii", "_words")

    def __init__(self, text: str) -> None:
        self.text = text[:MAX_SCAN_CHARS]
        self.low = self.text.lower()
        self.non_ascii = not self.text.isascii()
        self._words: set[bytes] | None = None

    @property
    def words(self) -> set[bytes]:
        if self._words is None:
            self._words = set(self.low.encode("utf-8", "replace").translate(_PUNCT_TABLE).split())
        return self._words


def _b(*words: str) -> frozenset[bytes]:
    return frozenset(w.encode("utf-8") for w in words)


#: Characters searched on each side of an anchor word (every windowed pattern matches fewer than this).
_WINDOW = 160


def _positions(low: str, anchors: Iterable[bytes], cap: int = 6) -> Iterable[int]:
    """Start offsets of whole-word occurrences of ``anchors`` in ``low`` (at most ``cap`` per anchor)."""
    for a in anchors:
        s = a.decode("utf-8", "replace")
        i = low.find(s)
        k = 0
        while i >= 0 and k < cap:
            j = i + len(s)
            if (i == 0 or not low[i - 1].isalnum()) and (j >= len(low) or not low[j].isalnum()):
                k += 1
                yield i
            i = low.find(s, i + 1)


class _Pat:
    """A weighted pattern with a cheap gate.

    ``words``: the pattern needs one of these words (checked against the text's word set); the regex is then
    searched only in a window around each occurrence. ``subs``: substrings, one of which must occur. Without a
    regex, passing the gate is the hit (literal phrases); with both ``words`` and ``subs``, both must pass.
    """

    __slots__ = ("rx", "w", "words", "subs", "case", "non_ascii")

    def __init__(self, w: float, rx: str | None = None, words: tuple[str, ...] = (), subs: tuple[str, ...] = (),
                 case: bool = False, non_ascii: bool = False) -> None:
        self.w = w
        self.rx = None if rx is None else re.compile(rx, re.M if case else re.I | re.M)
        self.words = _b(*words)
        self.subs = subs
        self.case = case  # regex runs on the original text (case-sensitive), else on the lower-cased one
        self.non_ascii = non_ascii  # only texts with non-ASCII characters can match

    def hit(self, t: _Txt) -> bool:
        if self.non_ascii and not t.non_ascii:
            return False
        present = None
        if self.words:
            present = t.words & self.words
            if not present:
                return False
        if self.subs and not any(s in t.low for s in self.subs):
            return False
        if self.rx is None:
            return True
        target = t.text if self.case else t.low
        if present is None or (self.case and len(t.text) != len(t.low)):
            return self.rx.search(target) is not None
        for i in _positions(t.low, present):
            if self.rx.search(target, max(0, i - _WINDOW), i + _WINDOW) is not None:
                return True
        return False


def _weighted(t: _Txt, patterns: tuple[_Pat, ...]) -> float:
    ws = [p.w for p in patterns if p.hit(t)]
    return _noisy_or(ws) if ws else 0.0


# --- instruction override -------------------------------------------------------------------------------------
_OVR_VERBS = (
    # en
    "ignore", "ignoring", "disregard", "disregarding", "forget", "forgetting", "skip", "override", "overwrite",
    "bypass", "abandon", "discard", "neglect", "dismiss", "cancel", "erase", "delete", "drop", "stop following",
    "do not follow", "don't follow", "dont follow", "no longer follow", "pay no attention to", "throw away",
    "set aside", "put aside", "scrap", "ditch",
    # de
    "ignoriere", "ignorieren", "ignoriert", "ignorier", "vergiss", "vergessen sie", "vergesst", "missachte",
    "missachten", "überspringe", "überspringen", "verwirf",
    # fr
    "ignorer", "ignorez", "ignore", "oublie", "oublier", "oubliez", "ne tiens pas compte", "ne tenez pas compte",
    "fais abstraction", "faites abstraction", "ne suis pas", "ne suivez pas",
    # es / it / pt
    "ignora", "ignorar", "ignorad", "olvida", "olvidar", "olvidad", "omite", "descarta", "descartar",
    "haz caso omiso", "no sigas", "no respondas", "no obedezcas", "ignorate", "ignorare", "non seguire", "dimentica", "dimenticate", "dimenticare", "trascura", "trascurate",
    "ignorem", "esqueça", "esqueca", "esqueçam", "desconsidere", "desconsiderem", "desconsidera",
    # nl / pl / cs / ro / id / vi / sw
    "negeer", "vergeet", "zignoruj", "ignoruj", "zapomnij", "zapomeň", "zapomeňte", "uită", "ignoră", "abaikan",
    "lupakan", "bỏ qua", "quên", "phớt lờ", "puuza", "sahau",
)
_OVR_OBJS = (
    r"instructions?|rules?|directions?|directives?|prompts?|guidelines?|commands?|context|constraints?|"
    r"restrictions?|programming|polic(?:y|ies)|orders?|guidance|settings|training|filters?|limitations?|safeguards?|"
    r"messages?|conversation|everything|all of (?:that|this|it)|what (?:i|you) (?:said|told|were told)|"
    r"(?:the |everything |all of the |all )above(?=\s*(?:[.,;:!]|and\b|then\b|$))|(?:the |everything )?(?:previous|prior|preceding) (?:one|ones|text|"
    r"part|request|question|task)s?|what (?:came|comes|was written|is written) (?:before|above)|"
    r"ce qui précède|(?:la |les |cette )?(?:question|demande|commande|tâche)s? (?:ci-dessus|précédentes?)|ci-dessus|"
    r"lo anterior|(?:la |las |el |los )?(?:pregunta|petición|orden|tarea)s? anteriores?|quanto sopra|"
    r"anweisung\w*|instruktion\w*|regeln|befehl\w*|vorgaben|anordnung\w*|alles|"
    r"règles|consignes|ordres|tout|"
    r"instrucciones|reglas|órdenes|indicaciones|directrices|todo|istruzioni|regole|ordini|indicazioni|direttive|"
    r"tutto|instru[çc][õo]es|regras|ordens|diretrizes|tudo|"
    r"instructies|regels|opdrachten|instrukcj\w*|polece\w*|zasad\w*|wszystko|instruksi|petunjuk|aturan|perintah|"
    r"hướng dẫn|chỉ dẫn|quy tắc|lệnh|maagizo|maelekezo|sheria|instrucțiuni\w*|reguli\w*|pokyn\w*"
)
_OVR_ANCHORS = _b(*(v.split()[0].replace("'", " ").split()[0] for v in _OVR_VERBS))
_OVR_LATIN_RE = re.compile(
    "(?:" + "|".join(re.escape(v) for v in sorted(_OVR_VERBS, key=len, reverse=True)) + r")(?!\w)"
    r"[^.!?\n。！？]{0,48}?(?<!\w)(?:" + _OVR_OBJS + r")(?!\w)"
)
_OVR_QUAL = re.compile(
    r"\b(?:previous|prior|above|earlier|preceding|foregoing|initial|original|former|old|all|any|every|existing|"
    r"system|developer|safety|your|these|those|vorherig\w*|bisherig\w*|obig\w*|alle|précédent\w*|toutes|tous|"
    r"anterior\w*|previas|todas|precedent\w*|tutte|vorige|poprzedni\w*|wszystkie|sebelumnya|semua|"
    r"trước|tất cả|zote|awali|anterioare|předchozí|précède|ci-dessus|anteriores|precedentes)\b"
    r"|предыдущ\w*|прежн\w*|все|всё|выше|попередн\w*|之前|以上|上面|先前|前面|所有|全部|以前|上記|これまで|すべて|이전|모든|"
    r"السابقة|جميع|أعلاه|المذكورة|पिछले|सभी|उपरोक्त|ऊपर|পূর্ববর্তী|উপরের|ก่อนหน้า|ทั้งหมด|ข้างต้น"
)
_OVR_OTHER = (
    # object-first (Turkish)
    _Pat(1.0, r"(?:talimat\w*|kural\w*|komut\w*|yönerge\w*)[^.!?\n]{0,30}?(?:yok say\w*|görmezden gel\w*|unut\w*)",
         subs=("talimat", "kural", "komut", "yönerge")),
    _Pat(1.0, r"(?:игнорируй\w*|игнорировать|проигнорируй\w*|забудь\w*|забыть|не обращай\w* внимани\w*|отбрось\w*|"
              r"отмени\w*|ігноруй\w*|забудь\w*|проігноруй\w*|игнорирай\w*|забрави)[^.!?\n]{0,48}?"
              r"(?:инструкци\w*|правил\w*|указани\w*|команд\w*|директив\w*|всё|все|інструкці\w*|вказівк\w*)",
         subs=("игнор", "забуд", "забыть", "не обращай", "отбрось", "отмени", "ігнор", "забрав"), non_ascii=True),
    _Pat(1.0, r"(?:忽略|无视|忽视|不要理会|不理会|忘记|忘掉|跳过|不要遵守|无需遵守|不必遵守|放弃|無視|抛开|拋開)"
              r"[^。！？\n]{0,16}?(?:指令|指示|说明|說明|规则|規則|提示|命令|设定|設定|要求|限制|约束|內容|内容)"
              r"|(?:指示|命令|ルール|規則|設定|プロンプト|制約)[^。！？\n]{0,12}?(?:無視|忘れ)"
              r"|(?:지시|명령|규칙|지침|프롬프트)\S{0,6}\s?(?:\S+\s)?(?:무시|잊어)",
         subs=("忽略", "无视", "忽视", "理会", "忘记", "忘掉", "跳过", "遵守", "放弃", "無視", "抛开", "拋開", "忘れ", "무시",
               "잊어"), non_ascii=True),
    _Pat(1.0, r"(?:تجاهل|انس)[^.!?\n]{0,40}?(?:التعليمات|القواعد|الأوامر|الإرشادات)"
              r"|(?:निर्देश|नियम|आदेश|कमांड)\S*[^.!?\n।]{0,30}?(?:अनदेखा|अनदेखी|नज़रअंदाज़|नजरअंदाज|उपेक्षा|भूल)"
              r"|(?:अनदेखा|नज़रअंदाज़|नजरअंदाज|भूल)[^.!?\n।]{0,30}?(?:निर्देश|नियम|आदेश)"
              r"|(?:নির্দেশ|নিয়ম|কমান্ড|আদেশ)\S*[^.!?\n।]{0,30}?(?:উপেক্ষা|ভুলে)"
              r"|(?:เพิกเฉย|ไม่สนใจ|ลืม)[^.!?\n]{0,20}?(?:คำสั่ง|คำแนะนำ|กฎ)",
         subs=("تجاهل", "انس", "अनदेखा", "नज़रअंदाज़", "नजरअंदाज", "उपेक्षा", "भूल", "উপেক্ষা", "ভুলে", "เพิกเฉย",
               "ไม่สนใจ", "ลืม"), non_ascii=True),
)
_OVR_PHRASES = (
    _Pat(0.2, r"\bfrom now on\b|\bstarting now\b|\bhenceforth\b|\bab sofort\b|à partir de maintenant|a partir de ahora|"
              r"da ora in poi|de agora em diante", words=("now", "henceforth", "sofort", "maintenant", "ahora", "poi", "diante")),
    _Pat(0.2, subs=("从现在开始", "從現在開始", "с этого момента"), non_ascii=True),
    _Pat(0.35, r"\bnew (?:instructions?|rules|task|objective|goal|directive)s?\b|\byour (?:new|real|true|actual) "
               r"(?:task|goal|instructions?|purpose|objective)\b|\bupdated instructions\b|新的指令|新指令|新しい指示",
         words=("new", "real", "true", "actual", "updated"), subs=("新的指令", "新指令", "新しい指示")),
    _Pat(0.2, r"\byou (?:are|will) no longer\b|\bstop being\b|\binstead,? (?:you|do|say|print|output|write)\b",
         words=("longer", "stop", "instead")),
    _Pat(0.25, r"\b(?:instead of|rather than) (?:following|obeying|doing) (?:the|your|my)\b",
         words=("following", "obeying")),
    _Pat(0.45, r"\bdo not (?:respond|answer|reply) (?:to|with) (?:the|any) (?:above|previous|original|user)\b|"
               r"\b(?:print|say|output|write|respond with|reply with) (?:only |just |exactly )?[\"'“]?(?:i have been pwned|"
               r"pwned|hacked|access granted)\b", words=("pwned", "hacked", "granted", "respond", "answer", "reply")),
    _Pat(0.45, r"\b(?:the )?(?:above|previous|prior) (?:instructions?|text|prompt|rules) (?:is|are|was|were) "
               r"(?:wrong|fake|outdated|void|cancelled|canceled|a test|no longer valid)\b",
         words=("wrong", "fake", "outdated", "void", "cancelled", "canceled", "test", "valid")),
)


def _override(t: _Txt) -> float:
    ws: list[float] = []
    low = t.low
    present = t.words & _OVR_ANCHORS
    if present:
        for i in _positions(low, present):
            m = _OVR_LATIN_RE.match(low, i)
            if m is not None:
                ws.append(0.8 if _OVR_QUAL.search(low, max(0, i - 30), m.end() + 30) else 0.45)
                if len(ws) >= 6:
                    break
    for p in _OVR_OTHER:
        if p.hit(t):
            m = p.rx.search(low)
            if m is not None:
                ws.append(0.8 if _OVR_QUAL.search(low, max(0, m.start() - 30), m.end() + 30) else 0.45)
    ws += [p.w for p in _OVR_PHRASES if p.hit(t)]
    return _noisy_or(ws) if ws else 0.0


# --- prompt leak ------------------------------------------------------------------------------------------------
_LEAK_VERBS = (
    "reveal", "print", "show", "display", "output", "repeat", "recite", "tell", "give", "share", "leak", "dump",
    "expose", "disclose", "spell", "write", "copy", "paste", "echo", "return", "translate", "summarize", "summarise",
    "list", "zeige", "zeig", "gib", "wiederhole", "affiche", "affichez", "révèle", "révélez", "répète", "répétez",
    "muestra", "muéstrame", "revela", "repite", "mostra", "mostrami", "rivela", "ripeti", "mostre", "покажи",
    "выведи", "повтори", "раскрой", "напиши",
)
_LEAK_OBJS = (
    r"(?:your|the|its|my|this|initial|original|hidden|secret|full|complete|entire|exact) (?:system|initial|hidden|"
    r"original|secret|pre-?|developer|internal|base|starting)[ -]?(?:prompt|message|instructions?|configuration|"
    r"rules|directives?)|system[ -]?prompt|system message|pre-?prompt|(?:your|the) (?:instructions|rules|guidelines|"
    r"directives|configuration|prompt)(?: (?:you were given|you received|above|verbatim))?|"
    r"(?:the |all (?:the )?)?(?:text|words|instructions|content|messages?) (?:above|before this|preceding)|"
    r"everything (?:above|before)|(?:the )?(?:secret|password|passcode|api key|access code)s?|"
    r"systemprompt|system-prompt|systemanweisung\w*|prompt (?:système|systeme)|instructions? (?:système|initiales)|"
    r"prompt del sistema|instrucciones (?:del sistema|iniciales)|prompt di sistema|istruzioni (?:di sistema|iniziali)|"
    r"prompt do sistema|системн\w* (?:промпт|подсказк\w*|инструкци\w*|сообщени\w*)"
)
_LEAK_ANCHORS = _b(*_LEAK_VERBS)
_LEAK_RE = re.compile(r"(?:" + "|".join(re.escape(v) for v in sorted(_LEAK_VERBS, key=len, reverse=True)) +
                      r")\w{0,3}(?!\w)[^.!?\n]{0,40}?(?<!\w)(?:" + _LEAK_OBJS + r")(?!\w)")
_LEAK_PATS = (
    _Pat(0.55, r"\bwhat (?:is|are|was|were) (?:your|the) (?:system prompt|initial prompt|original prompt|hidden prompt|"
               r"instructions|initial instructions|system instructions|secret|password)\b", words=("what",)),
    _Pat(0.7, r"(?:输出|打印|显示|告诉我|重复|泄露|透露|给我看)[^。！？\n]{0,12}?(?:系统提示|提示词|系统指令|初始指令|你的指令|"
              r"上面的内容|以上内容|密码)", subs=("输出", "打印", "显示", "告诉我", "重复", "泄露", "透露", "给我看"), non_ascii=True),
    _Pat(0.3, r"system[ -]?prompt|system message|pre-?prompt", words=("system", "systemprompt", "preprompt", "pre")),
    _Pat(0.3, subs=("系统提示", "系統提示", "提示词", "系统指令", "システムプロンプト", "시스템 프롬프트", "системный промпт"),
         non_ascii=True),
)


def _leak(t: _Txt) -> float:
    ws: list[float] = []
    low = t.low
    present = t.words & _LEAK_ANCHORS
    if present:
        for i in _positions(low, present):
            if _LEAK_RE.match(low, i) is not None:
                ws.append(0.7)
                break
    ws += [p.w for p in _LEAK_PATS if p.hit(t)]
    return _noisy_or(ws) if ws else 0.0


# --- role markers -----------------------------------------------------------------------------------------------
_ROLE_PATTERNS = (
    _Pat(0.8, r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id|"
              r"begin_of_text|end_of_text|fim_prefix|pad)\|>", subs=("<|",)),
    _Pat(0.6, r"\[/?INST\]|<</?SYS>>|\[/?SYSTEM\]|\[/?(?:ADMIN|DEVELOPER)\]",
         words=("inst", "sys", "system", "admin", "developer"), case=True),
    _Pat(0.45, r"</?(?:system|sys|instructions?|admin|developer|system_prompt|system-prompt)>",
         subs=("<system", "</system", "<sys>", "</sys>", "<instruction", "</instruction", "<admin>", "<developer>")),
    _Pat(0.4, r"^[ \t]*(?:#{1,4}[ \t]*)?(?:system|developer|admin(?:istrator)?)(?:[ \t]+(?:prompt|message|"
              r"instructions?|override|note))?[ \t]*:", words=("system", "developer", "admin", "administrator")),
    _Pat(0.2, r"^[ \t]*(?:#{1,4}[ \t]*)?(?:assistant|ai|chatgpt|gpt|bot)[ \t]*:", words=("assistant", "ai", "chatgpt",
                                                                                        "gpt", "bot")),
    _Pat(0.4, r"\b(?:begin|start|end) (?:of )?(?:the )?(?:system (?:prompt|message|instructions)|user input|"
              r"(?:untrusted |external )?(?:input|document|data|context))\b|\bend of (?:the )?(?:prompt|instructions)\b",
         words=("begin", "end", "start")),
    _Pat(0.45, r"^[ \t]*(?:-{3,}|={3,}|\*{3,}|#{3,})[ \t]*(?:new|updated|real|actual|important)?[ \t]*"
               r"(?:instructions?|system|task|message)", subs=("---", "===", "***", "###")),
    _Pat(0.3, r"\b(?:IMPORTANT|URGENT|ATTENTION|NOTE TO (?:THE )?(?:AI|ASSISTANT|MODEL|LLM)|SYSTEM OVERRIDE|"
              r"ADMIN OVERRIDE)\b\s*[:!]", words=("important", "urgent", "attention", "note", "override"), case=True),
)

# --- jailbreak persona ------------------------------------------------------------------------------------------
_PERSONA_PATTERNS = (
    _Pat(0.3, r"\bDAN\b|\bSTAN\b|\bDUDE\b|\bAIM\b|\bBetterDAN\b|\bAntiGPT\b",
         words=("dan", "stan", "dude", "aim", "betterdan", "antigpt"), case=True),
    _Pat(0.6, r"do anything now|jailbroken|jailbreak(?:ed)? mode", words=("anything", "jailbroken", "mode")),
    _Pat(0.6, subs=("🔓",), non_ascii=True),
    _Pat(0.45, r"\b(?:developer|god|debug|unrestricted|opposite|evil|dan) mode\b|\bevil (?:confidant|assistant|ai|bot)\b",
         words=("mode", "evil")),
    _Pat(0.15, words=("jailbreak",)),
    _Pat(0.3, r"\b(?:no|without(?: any)?|free (?:of|from)(?: any)?) (?:restrictions|limits|limitations|filters|"
              r"filtering|censorship|boundaries|morals|ethics|moral (?:guidelines|constraints)|ethical "
              r"(?:guidelines|constraints|considerations)|content polic(?:y|ies)|safety (?:guidelines|measures))\b",
         words=("restrictions", "limits", "limitations", "filters", "filtering", "censorship", "boundaries", "morals",
                "ethics", "moral", "ethical", "content", "safety")),
    _Pat(0.4, r"\b(?:not|never|no longer) (?:bound|restricted|limited|constrained) by\b",
         words=("bound", "restricted", "limited", "constrained")),
    _Pat(0.4, r"\b(?:ignore|bypass|disable|break|violate|disregard|override)\b[^.!?\n]{0,30}?\b(?:ethic\w*|moral\w*|"
              r"safety|content polic\w*|openai\w*|guidelines|filters?|censorship|restrictions)\b",
         words=("ignore", "bypass", "disable", "break", "violate", "disregard", "override")),
    _Pat(0.35, r"\b(?:stay|remain|break|breaking) (?:in )?character\b", words=("character",)),
    _Pat(0.5, r"\byou (?:are|will be|have become) (?:now )?(?:free|unrestricted|liberated|unchained|unfiltered|"
              r"uncensored|an? (?:evil|unrestricted|unfiltered|uncensored|amoral|unethical|rogue))\b",
         words=("free", "unrestricted", "liberated", "unchained", "unfiltered", "uncensored", "evil", "amoral",
                "unethical", "rogue")),
    _Pat(0.45, r"\b(?:amoral|unethical|immoral|unfiltered|uncensored|unrestricted|rogue) (?:ai|assistant|chatbot|"
               r"character|model|bot|entity|persona)\b",
         words=("amoral", "unethical", "immoral", "unfiltered", "uncensored", "unrestricted", "rogue")),
    _Pat(0.35, r"\b(?:never|don'?t|do not|must not|will not|won'?t) (?:ever )?(?:refuse|decline|apologi[sz]e|"
               r"say (?:sorry|no|that you can'?t)|add (?:any )?(?:warnings?|disclaimers?)|"
               r"include (?:any )?(?:warnings?|disclaimers?))\b",
         words=("refuse", "decline", "apologize", "apologise", "sorry", "warning", "warnings", "disclaimer",
                "disclaimers")),
    _Pat(0.1, r"\b(?:pretend|imagine|act) (?:to be|you are|as if you (?:are|were)|as)\b",
         words=("pretend", "imagine", "act")),
    _Pat(0.1, r"\bhypothetical|\bfictional (?:world|scenario|story)\b|\bfor (?:educational|research) purposes only\b",
         words=("hypothetical", "hypothetically", "fictional", "purposes")),
    _Pat(0.3, r"\b(?:two|both|dual) (?:responses|answers|personas|personalities)\b",
         words=("responses", "answers", "personas", "personalities")),
    _Pat(0.45, r"\bwithout (?:any )?regard (?:for|to) (?:ethic\w*|moral\w*|safety|legality)|"
               r"even if (?:it(?:'s| is)|the content (?:is|can be)) (?:harmful|dangerous|illegal|unethical|offensive)",
         words=("regard", "harmful", "dangerous", "illegal", "unethical", "offensive")),
)

# --- CodeChameleon / cipher instructions ----------------------------------------------------------------------
_ENC_PATTERNS = (
    _Pat(0.6, r"problemsolver|encrypted_problem|def decryption|decryption\(",
         words=("problemsolver", "encrypted_problem", "decryption")),
    _Pat(0.35, r"\bdecryption function\b|\bencrypted (?:problem|message|instruction|task|text|query|request)\b|"
               r"\bdecrypt (?:the|this|it|my)\b", words=("decryption", "encrypted", "decrypt")),
    _Pat(0.3, words=("generate_plan", "generate_solution", "analyze_problem", "inorder_traversal", "string_to_tree",
                     "half_length")),
    _Pat(0.5, r"['\"]value['\"]\s*:\s*['\"][^'\"]{1,40}['\"]\s*,\s*['\"]left['\"]", subs=("'value'", '"value"')),
    _Pat(0.4, r"\[\{\s*['\"][^'\"\n]{1,40}['\"]\s*:\s*\d+\s*\}\s*,\s*\{", subs=("[{'", '[{"')),
    _Pat(0.2, r"\b(?:caesar|vigen[eè]re|atbash|rot-?13|morse|substitution) (?:cipher|code|shift|encod\w*)\b|"
              r"\bcipher ?text\b|\bencoded in (?:base64|hex|rot13|binary|morse)\b",
         words=("caesar", "vigenere", "vigenère", "atbash", "rot", "rot13", "morse", "substitution", "ciphertext",
                "cipher", "encoded")),
    _Pat(0.35, r"\b(?:decode|decipher|decrypt|unscramble|translate)\b[^.!?\n]{0,40}?\b(?:and|then)\b[^.!?\n]{0,20}?"
               r"\b(?:follow|execute|do|answer|respond|carry out|obey|complete)\b",
         words=("decode", "decipher", "decrypt", "unscramble")),
    _Pat(0.3, r"\b(?:respond|answer|reply|write) (?:only )?(?:in|using) (?:base64|hex|rot13|morse|binary|cipher|code)\b",
         words=("base64", "hex", "rot13", "morse", "binary", "cipher")),
)
_FLIP_HINT = _Pat(0.15, r"\bflip(?:ping|ped)?\b|\breverse(?:d)? (?:order|the (?:text|sentence|words|string|order)|each)|"
                        r"\b(?:read|written|spelled) (?:it )?backwards?\b|\bright to left\b|\btask is\b",
                  words=("flip", "flipping", "flipped", "reverse", "reversed", "backwards", "backward", "left", "task"))
_FLIP_CUE = _Pat(0.6, r"flip(?:ping)?\s+(?:each|every|all)\s+(?:characters?|chars?|letters?|words?)",
                 words=("flip", "flipping"))
_SPLIT_HINT = _Pat(0.2, r"smartgpt|concatenat|combine (?:the|these) strings|string variable",
                   words=("smartgpt", "concatenate", "concatenated", "concatenation", "concatenating", "strings",
                          "variable", "variables"))


def lexicon_scores(text: str) -> dict[str, float]:
    """The lexicon detectors alone (instruction_override, prompt_leak, role_markers, jailbreak_persona)."""
    t = _Txt(text)
    return {
        "instruction_override": _override(t),
        "prompt_leak": _leak(t),
        "role_markers": _weighted(t, _ROLE_PATTERNS),
        "jailbreak_persona": _weighted(t, _PERSONA_PATTERNS),
    }


def _attack_lexicon(text: str) -> float:
    t = _Txt(text)
    return max(_override(t), _leak(t), _weighted(t, _PERSONA_PATTERNS))


# ============================================================================================ detect


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the text stage computes for one input: normalization, views and detector scores."""

    normalized: Normalized
    views: tuple[View, ...]
    scores: dict[str, float]

    def vector(self) -> np.ndarray:
        return np.asarray([self.scores[n] for n in DETECTOR_NAMES], dtype=np.float32)


def _best(views: list[View], names: frozenset[str] | set[str], first_only: bool = True) -> float:
    best = 0.0
    for v in views:
        key = v.decoder[0] if (first_only and v.decoder) else v.name
        if key in names:
            best = max(best, v.confidence)
    return best


def _startswith(views: list[View], prefix: str) -> float:
    best = 0.0
    for v in views:
        if v.decoder and v.decoder[0].startswith(prefix):
            best = max(best, v.confidence)
    return best


def detect(text: str, normalized: Normalized | None = None, views: list[View] | None = None,
           limits: Limits = DEFAULT_LIMITS) -> dict[str, float]:
    """Score ``text`` with every detector. Returns ``{name: score in [0, 1]}`` in ``DETECTOR_NAMES`` order.

    Args:
        text: the raw input.
        normalized: ``normalize(text)`` if already computed.
        views: ``make_views(normalized.text)`` if already computed.
        limits: limits for ``make_views`` when ``views`` is None.
    """
    if not isinstance(text, str):
        text = str(text)
    scores = dict.fromkeys(DETECTOR_NAMES, 0.0)
    try:
        if normalized is None:
            normalized = normalize(text)
        if views is None:
            views = make_views(normalized.text, limits)
    except Exception:  # noqa: BLE001 - never raise from the feature path
        return scores
    nt = normalized.text[:MAX_SCAN_CHARS]
    t = _Txt(nt)

    def run(name: str, fn) -> None:
        try:
            v = float(fn())
            scores[name] = 0.0 if math.isnan(v) else max(0.0, min(1.0, v))
        except Exception:  # noqa: BLE001
            scores[name] = 0.0

    run("encoding", lambda: _best(views, _ENCODING_VIEWS))
    run("flip", lambda: _flip_score(views, t))
    run("homoglyph", lambda: _homoglyph_score(normalized))
    run("encryption", lambda: _encryption_score(views, t))
    run("typoglycemia", lambda: min(1.0, 1.6 * _best(views, {"typoglycemia"})))
    run("invisible", lambda: _invisible_score(normalized))
    run("hidden_markup", lambda: _hidden_score(normalized))
    run("spaced", lambda: max(_best(views, {"spaced"}), 0.8 * _best(views, {"segmented"})))
    run("leetspeak", lambda: _best(views, {"leetspeak"}))
    run("cipher", lambda: max(_best(views, {"rot13"}), _startswith(views, "caesar")))
    run("instruction_override", lambda: _override(t))
    run("prompt_leak", lambda: _leak(t))
    run("role_markers", lambda: _weighted(t, _ROLE_PATTERNS))
    run("jailbreak_persona", lambda: _weighted(t, _PERSONA_PATTERNS))
    run("payload_split", lambda: _split_score(views, t))
    run("decoded_attack", lambda: _decoded_attack_score(views, scores))
    return scores


def _flip_score(views: list[View], t: _Txt) -> float:
    s = _best(views, _FLIP_VIEWS)
    if s > 0 and _FLIP_HINT.hit(t):
        s = min(1.0, s + 0.15)
    if _FLIP_CUE.hit(t):  # the FlipAttack instruction itself ("read the TASK by flipping each character ...")
        s = _noisy_or([s, _FLIP_CUE.w])
    return s


def _homoglyph_score(n: Normalized) -> float:
    s = 1.0 - math.exp(-0.45 * n.words_folded)
    unfolded_mixed = max(0, n.mixed_script_words - n.words_folded)
    return min(1.0, s + 0.05 * min(unfolded_mixed, 4))


def _invisible_score(n: Normalized) -> float:
    s = 1.0 - math.exp(-0.35 * n.invisible_removed)
    if n.tags_decoded >= 3:
        s = max(s, 0.9)
    if n.bidi_controls:
        s = max(s, 0.6)
    return s


_IMPERATIVE = frozenset("tell give show help let teach send write make provide explain ignore forget create build find get "
                        "do use take say describe generate list print reveal output produce disregard share send "
                        "respond reply answer include add insert append delete remove visit click open run execute "
                        "summarize translate repeat always never please stop".split())
_ADDRESS = frozenset("you your yourself assistant ai model chatbot llm gpt".split())


def _hidden_score(n: Normalized) -> float:
    if not (n.comments_surfaced or n.hidden_surfaced):
        return 0.0
    s = 0.0
    if n.comments_surfaced:
        s = 0.35
    if n.hidden_surfaced:
        s = max(s, 0.6)
    hidden_text = " ".join(x for x in n.surfaced)
    if hidden_text:
        ws = hidden_text.split()
        if len(ws) >= 3 and text_quality(hidden_text) >= 0.5:
            s += 0.2  # a hidden sentence, not a code note
            low = {w.strip(".,;:!?\"'()").lower() for w in ws}
            if ws[0].strip(".,;:!?\"'()").lower() in _IMPERATIVE or low & _ADDRESS:
                s += 0.1  # addressed to the model: an instruction or a question to it
        s += 0.5 * _attack_lexicon(hidden_text)
    return min(1.0, s)


def _encryption_score(views: list[View], t: _Txt) -> float:
    s = _weighted(t, _ENC_PATTERNS)
    cc = _startswith(views, "codechameleon")
    if cc:
        s = _noisy_or([s, 0.6 * cc])
    return s


def _split_score(views: list[View], t: _Txt) -> float:
    v = _best(views, {"payload_split"})
    if not v:
        return 0.0
    s = 0.45 + 0.3 * v
    if _SPLIT_HINT.hit(t):
        s += 0.2
    return min(1.0, s)


def _decoded_attack_score(views: list[View], scores: dict[str, float]) -> float:
    if not views:
        return 0.0
    base = max(scores["instruction_override"], scores["prompt_leak"], scores["jailbreak_persona"])
    best = 0.0
    for v in views:
        gain = _attack_lexicon(v.text) - base
        best = max(best, gain * (0.5 + 0.5 * v.confidence))
    return best


def analyze(text: str, limits: Limits = DEFAULT_LIMITS) -> Analysis:
    """normalize + views + detectors in one call (what the runtime runs per input)."""
    n = normalize(text if isinstance(text, str) else str(text))
    views = make_views(n.text, limits)
    return Analysis(n, tuple(views), detect(text, n, views, limits))


def feature_vector(text: str, normalized: Normalized | None = None, views: list[View] | None = None,
                   limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    """Detector scores as a float32 vector in ``DETECTOR_NAMES`` order (the model's ``detector_feats`` row)."""
    s = detect(text, normalized, views, limits)
    return np.asarray([s[n] for n in DETECTOR_NAMES], dtype=np.float32)
