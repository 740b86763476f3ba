"""Chinese name vocabularies for the sample city, and a deterministic unique-name maker.

Why a module of its own: names carry meaning downstream (the classifier reads keywords
in shop names and business scopes, the matcher compares registry and AMap names), so
the vocabularies are kept together where their keyword content can be checked against
``config/mappings/keywords.csv``.
"""
from __future__ import annotations

import numpy as np

# Characters for invented place names (garden-style community names such as 青槐苑).
PLACE_FIRST = list("青丹翠银紫玉海芙梧杏松竹兰晴晓星云锦泰丰康安和福瑞祥嘉润德仁")
PLACE_SECOND = list("槐桂柏杏荆兰棠蓉桐林涛韵亭川月河岫绣和乐宁澜泽苑华光明新阳")
PLACE_TAIL = list("里苑园坊湾庭巷村")

# District and street names for synthetic (bench) cities.
DISTRICT_STEMS = [
    "渭滨", "伏羲", "成纪", "陇城", "藉河", "南山", "北塬", "东岔", "西岭", "卦台",
    "玉泉", "太京", "皂郊", "牡丹", "中梁", "社棠", "甘泉", "石佛", "三阳", "利桥",
    "元龙", "街亭", "花牛", "街子", "马跑", "峡门", "渭南", "琥珀", "新阳", "中滩",
]
ROAD_STEMS = [
    "民主", "建设", "解放", "人民", "青年", "成纪", "藉河", "岷山", "环城", "光明",
    "中华", "大众", "双桥", "自由", "尚义", "新华", "天河", "泉湖", "龙城", "羲皇",
    "伏羲", "秦州", "麦积", "渭滨", "陇昌", "商埠", "北山", "前进", "埠北", "林苑",
    "重新", "合作", "进步", "罗玉", "岷州", "七里", "东团", "西团", "南明", "北关",
    "精表", "春风", "育生", "忠义", "莲亭", "清水", "滨河", "长开", "马跑", "社棠",
    "花牛", "玉泉", "红山", "聚宝", "仁和", "十方", "自治", "文化", "和平", "胜利",
    "朝阳", "迎宾", "奋斗", "团结", "幸福", "康乐", "永庆", "广场", "天水", "中心",
    "果园", "桃园", "杨家", "吕家", "贾家", "石马", "天庆", "官泉", "新村", "车站",
]
ROAD_TYPES_MAIN = ["路", "大道", "路", "街"]
ROAD_TYPES_MINOR = ["巷", "街", "巷", "路"]
NUMERALS = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"]

# Independent shops: 字号 (trade name) stems. Brand aliases are filtered out at use.
SHOP_STEMS = [
    "张记", "王记", "李记", "刘记", "陈记", "杨记", "赵记", "马记", "老王", "老李",
    "小刘", "李姐", "王姐", "鑫源", "福顺", "惠民", "佳佳", "阳光", "金鼎", "顺心",
    "永盛", "百姓", "邻里", "兴隆", "和顺", "吉祥", "如意", "万顺", "恒丰", "宏达",
    "盛源", "利民", "便民", "诚信", "旺旺", "喜乐", "红星", "金城", "陇上", "秦州",
    "伏羲", "麦香", "丰收", "天天", "乐乐", "好运", "安康", "春华", "秋实", "四季",
]

# Name nouns per category for independent shops. Keyword categories (no AMap code of
# their own) always carry a keyword listed in config/mappings/keywords.csv.
CATEGORY_NOUNS: dict[str, list[str]] = {
    "convenience_store": ["便利店", "便民店", "副食店", "小卖部"],
    "supermarket": ["超市", "生活超市", "购物广场"],
    "wet_market": ["农贸市场", "菜市场"],
    "fresh_food_store": ["生鲜超市", "菜店", "果蔬店"],
    "breakfast": ["早餐店", "包子铺", "豆浆油条", "馒头店"],
    "repair": ["家电维修部", "修鞋配钥匙", "手机维修", "裁缝铺"],
    "laundry": ["干洗店", "洗衣店", "洗染店"],
    "hair_beauty": ["理发店", "美发沙龙", "美容美发", "发型工作室", "美甲店"],
    "photo_print": ["图文快印", "照相馆", "打印复印部"],
    "pharmacy": ["大药房", "药店", "医药超市"],
    "housekeeping": ["家政服务部", "保洁服务部", "月嫂家政"],
    "post_parcel": ["快递驿站", "快递超市"],
    "recycling": ["废品回收站", "再生资源回收点"],
    "basic_other": ["五金店", "日杂店", "粮油店", "烟酒店"],
    "bookstore": ["书店", "书屋"],
    "fitness": ["健身房", "瑜伽馆", "健身工作室"],
    "specialty_dining": ["牛肉面", "呱呱店", "浆水面馆", "火锅店", "烧烤店", "饭庄"],
    "elderly_care": ["养老服务站", "日间照料中心", "老年服务中心"],
    "childcare": ["托育中心", "幼儿托管", "托育园"],
    "wellness": ["养生馆", "足浴店", "推拿馆"],
    "education": ["培训学校", "教育中心", "艺术培训"],
    "leisure": ["棋牌室", "KTV", "网吧", "台球室"],
    "quality_other": ["花店", "宠物店", "茶社", "眼镜店"],
    "community_canteen": ["社区食堂", "长者食堂"],
    "front_warehouse": ["前置仓", "社区团购仓"],
}
DEFAULT_NOUNS = ["商店"]

# Business scope (经营范围) per category, as a registry writes it.
BUSINESS_SCOPE: dict[str, str] = {
    "convenience_store": "预包装食品销售；日用百货销售；烟草制品零售；酒类经营",
    "supermarket": "食品销售；日用百货销售；家用电器销售；服装鞋帽零售",
    "wet_market": "市场经营管理；摊位租赁；农副产品销售",
    "fresh_food_store": "新鲜蔬菜零售；新鲜水果零售；鲜肉零售；水产品零售",
    "breakfast": "餐饮服务；早餐供应；小吃服务",
    "repair": "日用电器修理；修鞋、配钥匙服务；家用电子产品修理",
    "laundry": "洗染服务；衣物干洗、水洗",
    "hair_beauty": "理发服务；生活美容服务",
    "photo_print": "摄影扩印服务；打字复印；图文设计制作",
    "pharmacy": "药品零售；医疗器械经营；保健食品销售",
    "housekeeping": "家政服务；保洁服务；月嫂服务",
    "post_parcel": "快递服务；快递驿站代收代发；邮政基本服务",
    "recycling": "再生资源回收；废品收购",
    "basic_other": "五金产品零售；日用杂品销售；粮油零售",
    "bookstore": "图书零售；文具用品零售；出版物零售",
    "fitness": "健身休闲活动；体育健康服务",
    "specialty_dining": "餐饮服务；食品销售",
    "elderly_care": "养老服务；日间照料；居家养老服务",
    "childcare": "托育服务；婴幼儿照护服务",
    "wellness": "养生保健服务；足浴服务；推拿服务",
    "education": "文化艺术培训；教育咨询服务；培训服务",
    "leisure": "棋牌室服务；娱乐性展览；网络上网服务",
    "quality_other": "花卉零售；宠物用品销售；茶具销售",
    "community_canteen": "餐饮服务；社区食堂；老年助餐服务",
    "front_warehouse": "互联网销售；食用农产品零售；仓储服务",
}
DEFAULT_SCOPE = "日用百货销售"

UNKNOWN_STATUS_WORDS = ["正常", "营业", "歇业", "暂停营业中", "在营（开业）"]


def unique_place_names(rng: np.random.Generator, n: int, suffix: str,
                       exclude: set[str] | None = None) -> list[str]:
    """``n`` distinct invented names ``<first><second>[<tail>]<suffix>``.

    Two-character forms are used first (3,600 of them), three-character forms after,
    so small cities look like the hand-made Tianshui list and bench cities still get
    unique names.
    """
    exclude = exclude or set()
    two = [a + b for a in PLACE_FIRST for b in PLACE_SECOND if a != b]
    three = [s + t for s in two for t in PLACE_TAIL]
    out: list[str] = []
    for pool in (two, three):
        order = rng.permutation(len(pool))
        for i in order:
            name = pool[i] + suffix
            if name not in exclude:
                out.append(name)
                exclude.add(name)
                if len(out) == n:
                    return out
    k = 2
    while len(out) < n:  # beyond 28,800 names: add serials
        for s in three:
            name = f"{s}{k}{suffix}"
            if name not in exclude:
                out.append(name)
                exclude.add(name)
                if len(out) == n:
                    return out
        k += 1
    return out


def road_names(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct road stems for one cluster (``建设``, ``建设二`` ...)."""
    order = rng.permutation(len(ROAD_STEMS))
    out = []
    for i in range(n):
        stem = ROAD_STEMS[order[i % len(ROAD_STEMS)]]
        k = i // len(ROAD_STEMS)
        out.append(stem + (NUMERALS[k] if k < len(NUMERALS) else str(k)))
    return out
