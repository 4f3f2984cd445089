"""Word lists the demo-data generator builds names from: zh-CN surnames and given names with their
pinyin (so emails and web addresses can be derived from a Chinese name), English names, company name
parts, and the main cities of China's provincial-level divisions (keyed like the CRM's region options)."""

from __future__ import annotations

# (hanzi, pinyin, weight): the most common surnames, weighted roughly by how common they are.
ZH_SURNAMES: tuple[tuple[str, str, int], ...] = (
    ("王", "wang", 10), ("李", "li", 10), ("张", "zhang", 9), ("刘", "liu", 8), ("陈", "chen", 7), ("杨", "yang", 5),
    ("黄", "huang", 3), ("赵", "zhao", 3), ("吴", "wu", 3), ("周", "zhou", 3), ("徐", "xu", 2), ("孙", "sun", 2),
    ("马", "ma", 2), ("朱", "zhu", 2), ("胡", "hu", 2), ("郭", "guo", 2), ("何", "he", 2), ("高", "gao", 2),
    ("林", "lin", 2), ("罗", "luo", 1), ("郑", "zheng", 1), ("梁", "liang", 1), ("谢", "xie", 1), ("宋", "song", 1),
    ("唐", "tang", 1), ("韩", "han", 1), ("冯", "feng", 1), ("邓", "deng", 1), ("曹", "cao", 1), ("彭", "peng", 1),
)  # fmt: skip

ZH_GIVEN: tuple[tuple[str, str], ...] = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("强", "qiang"),
    ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"), ("杰", "jie"), ("娟", "juan"),
    ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("华", "hua"),
    ("秀英", "xiuying"), ("桂英", "guiying"), ("建国", "jianguo"), ("志强", "zhiqiang"), ("晓东", "xiaodong"),
    ("海燕", "haiyan"), ("文博", "wenbo"), ("子涵", "zihan"), ("雨桐", "yutong"), ("浩然", "haoran"),
    ("俊杰", "junjie"), ("欣怡", "xinyi"), ("宇轩", "yuxuan"), ("建华", "jianhua"), ("晓燕", "xiaoyan"),
    ("国强", "guoqiang"), ("丽娟", "lijuan"), ("思远", "siyuan"), ("梓萱", "zixuan"),
)  # fmt: skip

EN_FIRST = ("James", "Mary", "John", "Linda", "David", "Susan", "Michael", "Karen", "Peter", "Emma", "Daniel",
            "Olivia", "Thomas", "Sophie", "Andrew", "Grace", "Kevin", "Laura", "Mark", "Helen")  # fmt: skip
EN_LAST = ("Smith", "Brown", "Taylor", "Wilson", "Johnson", "Lee", "Walker", "Hall", "Clark", "Wright", "Green",
           "Baker", "Turner", "Parker", "Evans", "Collins", "Stewart", "Morris", "Cooper", "Reed")  # fmt: skip

# Company names: "<place><brand><trade><suffix>" in Chinese, "<Brand> <Trade> <Suffix>" in English.
ZH_BRANDS: tuple[tuple[str, str], ...] = (
    ("华信", "huaxin"), ("远航", "yuanhang"), ("鼎盛", "dingsheng"), ("恒通", "hengtong"), ("金桥", "jinqiao"),
    ("天成", "tiancheng"), ("瑞丰", "ruifeng"), ("宏达", "hongda"), ("中联", "zhonglian"), ("博远", "boyuan"),
    ("新元", "xinyuan"), ("启明", "qiming"), ("安泰", "antai"), ("盛世", "shengshi"), ("联创", "lianchuang"),
    ("正泰和", "zhengtaihe"), ("嘉禾", "jiahe"), ("蓝海", "lanhai"), ("锦程", "jincheng"), ("卓越", "zhuoyue"),
    ("云帆", "yunfan"), ("星辰", "xingchen"), ("汇通", "huitong"), ("长盈", "changying"), ("祥和", "xianghe"),
    ("明德", "mingde"), ("海纳", "haina"), ("润泽", "runze"), ("致远", "zhiyuan"), ("银河", "yinhe"),
)  # fmt: skip
ZH_TRADES = ("科技", "信息技术", "机械", "制造", "商贸", "物流", "医疗器械", "教育科技", "能源", "电子", "软件",
             "贸易", "实业", "精密仪器", "新材料", "环保科技", "食品", "建材")  # fmt: skip
ZH_SUFFIXES: tuple[tuple[str, int], ...] = (("有限公司", 14), ("股份有限公司", 3), ("集团有限公司", 2), ("有限责任公司", 2))

EN_BRANDS = ("Acme", "Pacific", "Orient", "Summit", "Bluewave", "Evergreen", "Golden Bridge", "Silverline", "Northstar",
             "Harbor", "Redwood", "Lotus", "Jade River", "Crescent", "Meridian")  # fmt: skip
EN_TRADES = ("Trading", "Technology", "Industrial", "Logistics", "Medical", "Electronics", "Energy", "Software",
             "Machinery", "Foods")  # fmt: skip
EN_SUFFIXES: tuple[tuple[str, int], ...] = (("Co., Ltd.", 6), ("Ltd.", 2), ("Holdings Ltd.", 1), ("Group Co., Ltd.", 1))

MOBILE_PREFIXES = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155", "157", "158",
                   "159", "166", "177", "180", "181", "186", "187", "188", "189", "199")  # fmt: skip
AREA_CODES = ("010", "021", "020", "0755", "0571", "025", "028", "027", "023", "022", "0512", "0532", "029", "0731")

# Main cities of each provincial-level division, keyed by the option keys the CRM uses for regions.
CITIES: dict[str, tuple[str, ...]] = {
    "beijing": ("北京市",), "tianjin": ("天津市",), "shanghai": ("上海市",), "chongqing": ("重庆市",),
    "hebei": ("石家庄市", "唐山市", "保定市"), "shanxi": ("太原市", "大同市"), "liaoning": ("沈阳市", "大连市"),
    "jilin": ("长春市", "吉林市"), "heilongjiang": ("哈尔滨市", "大庆市"),
    "jiangsu": ("南京市", "苏州市", "无锡市", "常州市", "南通市"), "zhejiang": ("杭州市", "宁波市", "温州市", "嘉兴市"),
    "anhui": ("合肥市", "芜湖市"), "fujian": ("福州市", "厦门市", "泉州市"), "jiangxi": ("南昌市", "赣州市"),
    "shandong": ("济南市", "青岛市", "烟台市", "潍坊市"), "henan": ("郑州市", "洛阳市"), "hubei": ("武汉市", "宜昌市"),
    "hunan": ("长沙市", "株洲市"), "guangdong": ("广州市", "深圳市", "东莞市", "佛山市", "珠海市"),
    "hainan": ("海口市", "三亚市"), "sichuan": ("成都市", "绵阳市"), "guizhou": ("贵阳市", "遵义市"),
    "yunnan": ("昆明市", "大理市"), "shaanxi": ("西安市", "宝鸡市"), "gansu": ("兰州市",), "qinghai": ("西宁市",),
    "taiwan": ("台北市", "高雄市"), "inner_mongolia": ("呼和浩特市", "包头市"), "guangxi": ("南宁市", "柳州市"),
    "tibet": ("拉萨市",), "ningxia": ("银川市",), "xinjiang": ("乌鲁木齐市",), "hong_kong": ("香港",),
    "macau": ("澳门",),
}  # fmt: skip

# Demo addresses stay under example.com (RFC 2606): a rule switched on later must never mail a real inbox.
EMAIL_DOMAIN = "example.com"
