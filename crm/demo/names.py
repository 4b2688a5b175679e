"""Believable Chinese names for the demo county: people, companies, shops, villages, communities.

Every function takes the caller's `random.Random`, so the same seed always gives the same names.
The county, its towns and everything in them are invented."""

import random

COUNTY = "清河县"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# The most frequent surnames, roughly in order of frequency (weights follow).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
_SURNAME_WEIGHTS = [max(1.0, 70.0 - 1.5 * i) for i in range(len(SURNAMES))]

# Given names: popular whole names, and characters to combine into two-character ones.
GIVEN_WHOLE = _words(
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 霞 平 刚 秀英 秀兰 桂英 建华 建国 志强 "
    "海燕 晓燕 文杰 国强 红梅 丽娟 玉兰 春华 德明 建军 永强 金凤 淑珍 立新 卫东 小红 海涛"
)
GIVEN_FIRST = "建国志海文晓丽春秋玉金德永立卫振宏子思欣雨浩家俊佳梓嘉一明红"
GIVEN_SECOND = "华强军平明杰伟芳燕红梅兰英辉涛刚鹏飞琳娟婷静宇轩涵然博文林峰"

TOWNS = ("城关镇", "河口镇", "青石镇")
ROADS = (
    "人民路",
    "建设路",
    "解放路",
    "中山路",
    "新华街",
    "文化路",
    "滨河路",
    "工业大道",
    "迎宾大道",
    "府前街",
)
INDUSTRIAL_PARKS = ("清河经济开发区", "城东工业园", "河口工业集中区")

BRANDS = _words(
    "宏达 鑫源 金泰 华盛 永兴 恒通 瑞丰 天成 兴隆 德润 众诚 宏远 新达 嘉禾 聚丰 隆盛 华源 "
    "昌盛 金鼎 富达 泰和 顺发 祥瑞 汇通 鸿运 诚信 万福 福源 长城 东方"
)
# Manufacturing trades, with a GB/T 4754-2017 industry code for each.
TRADES = (
    ("机械制造", "C3419"),
    ("纺织", "C1713"),
    ("食品", "C1499"),
    ("新型建材", "C3031"),
    ("塑料制品", "C2929"),
    ("木业", "C2021"),
    ("铸造", "C3391"),
    ("米业", "C1311"),
    ("造纸", "C2221"),
    ("电子科技", "C3989"),
    ("服装", "C1810"),
    ("化工", "C2669"),
    ("农机", "C3571"),
    ("包装材料", "C2231"),
)
HEAVY_TRADES = (("钢铁", "C3120"), ("水泥", "C3011"), ("铁合金", "C3140"), ("化工", "C2614"))
SHOPS = (
    ("超市", "F5212"),
    ("餐馆", "H6210"),
    ("宾馆", "H6110"),
    ("五金店", "F5274"),
    ("理发店", "O8010"),
    ("药店", "F5251"),
    ("服装店", "F5232"),
    ("烟酒店", "F5225"),
    ("修理部", "O8111"),
    ("网吧", "R9090"),
)
BIG_COMMERCE = (
    ("商贸城", "F5211"),
    ("购物广场", "F5211"),
    ("大酒店", "H6110"),
    ("物流园", "G5941"),
    ("冷链仓储", "G5960"),
)
CROPS = ("蔬菜", "水稻", "果蔬", "茶叶", "苗木", "食用菌")
FARMS = (("种植专业合作社", "A0190"), ("养殖场", "A0313"), ("灌溉泵站", "A0519"), ("农机服务站", "A0519"))

COMMUNITY_WORDS = _words(
    "幸福 阳光 和平 建设 解放 人民 文化 新华 东风 向阳 朝阳 光明 团结 胜利 兴华 民主 友谊 长青 "
    "翠苑 锦绣 滨河 丽景 金桥 宁安 康乐 书香 东城 西城 南苑 北关"
)
VILLAGE_SUFFIXES = ("庄", "家湾", "村", "岗", "家营", "集", "店", "家坝", "寨", "楼")


def person(rng: random.Random) -> str:
    surname = rng.choices(SURNAMES, weights=_SURNAME_WEIGHTS)[0]
    if rng.random() < 0.45:
        return surname + rng.choice(GIVEN_WHOLE)
    return surname + rng.choice(GIVEN_FIRST) + rng.choice(GIVEN_SECOND)


def company(rng: random.Random, town: str) -> tuple[str, str]:
    """A small or mid-sized manufacturer: (name, industry code), e.g. 城关镇宏达机械制造有限公司."""
    trade, code = rng.choice(TRADES)
    return f"{town}{rng.choice(BRANDS)}{trade}有限公司", code


def heavy_company(rng: random.Random) -> tuple[str, str]:
    trade, code = rng.choice(HEAVY_TRADES)
    return f"{COUNTY}{rng.choice(BRANDS)}{trade}有限公司", code


def big_commerce(rng: random.Random, town: str) -> tuple[str, str]:
    kind, code = rng.choice(BIG_COMMERCE)
    return f"{town}{rng.choice(BRANDS)}{kind}有限公司", code


def shop(rng: random.Random) -> tuple[str, str]:
    kind, code = rng.choice(SHOPS)
    if rng.random() < 0.5:
        return f"{rng.choices(SURNAMES, weights=_SURNAME_WEIGHTS)[0]}记{kind}", code
    return f"{rng.choice(BRANDS)}{kind}", code


def farm(rng: random.Random, village: str) -> tuple[str, str]:
    kind, code = rng.choice(FARMS)
    if kind == "种植专业合作社":
        return f"{village}{rng.choice(CROPS)}{kind}", code
    if kind == "养殖场":
        return f"{person(rng)}{kind}", code
    return f"{village}{kind}", code


def public_service(rng: random.Random, town: str, village: str | None) -> tuple[str, str]:
    choices = [
        (f"{town}中心小学", "P8321"),
        (f"{town}卫生院", "Q8423"),
        (f"{town}人民政府", "S9221"),
        (f"{town}派出所", "S9224"),
    ]
    if village:
        choices += [(f"{village}村民委员会", "S9620"), (f"{village}卫生室", "Q8424")]
    return rng.choice(choices)


KEY_PUBLIC = (
    ("{county}第二中学", "P8334"),
    ("{county}职业技术学校", "P8336"),
    ("{county}妇幼保健院", "Q8415"),
    ("{county}污水处理厂", "N7721"),
    ("{county}广播电视台", "R8710"),
    ("{county}档案馆", "R8840"),
    ("{town}敬老院", "Q8514"),
    ("{town}农贸市场", "F5179"),
)


def key_public(rng: random.Random, town: str) -> tuple[str, str]:
    name, code = rng.choice(KEY_PUBLIC)
    return name.format(county=COUNTY, town=town), code


def village(index: int) -> str:
    """The index-th village name of the county, e.g. 张庄, 李家湾 (distinct for the first 440)."""
    surname = SURNAMES[index % len(SURNAMES)]
    suffix = VILLAGE_SUFFIXES[(index // len(SURNAMES)) % len(VILLAGE_SUFFIXES)]
    return f"{surname}{suffix}"


def community(index: int) -> str:
    """The index-th community name, e.g. 幸福社区, 幸福二社区 once the words are used up."""
    word = COMMUNITY_WORDS[index % len(COMMUNITY_WORDS)]
    round_ = index // len(COMMUNITY_WORDS)
    return f"{word}社区" if round_ == 0 else f"{word}{_chinese_number(round_ + 1)}社区"


def _chinese_number(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    if n < 100:
        return digits[n // 10] + "十" + (digits[n % 10] if n % 10 else "")
    return str(n)
