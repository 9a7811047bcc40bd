"""Short help texts shown beside technical terms (the `help` macro in _macros.html): what a
citizen or a clerk needs to read the term, in one or two sentences."""

from __future__ import annotations

HELP = {
    "snapshot": (
        "快照摘要是抽取前冻结的名录文件（检查对象、执法人员、回避关系和抽取规则）的 SHA-256 "
        "“指纹”。它在抽取之前公布，名录中任何一处改动都会使指纹不同，因此可以核对抽取所用的"
        "名录没有被事后改动。"
    ),
    "seed": (
        "种子由承诺之后才产生的随机数（如现场掷骰的数字）按固定格式计算 SHA-256 得出。"
        "每户的号码都由种子算出，号码越小越先抽中；任何人都可以用公开的随机数重算种子和号码。"
    ),
    "threshold": (
        "门槛签号是该分类中最后一个被抽中对象的号码：号码不大于它的对象被抽中，大于它的未被抽中。"
    ),
}
