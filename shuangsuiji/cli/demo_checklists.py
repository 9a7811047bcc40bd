"""The demo's 检查表: one per demo matter, published as version 1 by the matter's department.

Written after the published SAMR random-inspection matter lists and checklists (the 市场监管总局
随机抽查事项清单 and the provincial 检查表/检查工作指引 built on it) and the laws they cite: what is
checked, how, under which article, and which result code a 不符合 proposes. They are demo data,
shortened; a department publishes its own (console 检查表, or the API). See data/README.md.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import Matter, User
from ..db.states import Role
from ..services.registry import checklists


def _item(content, method, basis, criterion, codes, required=True) -> dict:
    return {
        "content": content,
        "method": method,
        "basis": basis,
        "criterion": criterion,
        "codes": codes,
        "required": required,
    }


GSXX = "《企业信息公示暂行条例》"
FOOD = "《中华人民共和国食品安全法》"
SE = "《中华人民共和国特种设备安全法》"
AD = "《中华人民共和国广告法》"
JL = "《中华人民共和国计量法》"

DEMO_CHECKLISTS: dict[str, list[dict]] = {
    "SAMR-001": [
        _item(
            "年度报告按时报送",
            "网络核查",
            f"{GSXX}第八条",
            "每年1月1日至6月30日通过国家企业信用信息公示系统报送上一年度年度报告并公示",
            ["B"],
        ),
        _item(
            "登记住所（经营场所）可联系",
            "现场检查",
            "《企业经营异常名录管理暂行办法》第四条",
            "通过登记的住所或者经营场所能够联系到企业",
            ["6"],
        ),
        _item(
            "股东出资情况与公示一致",
            "查阅资料",
            f"{GSXX}第九条、第十条",
            "股东认缴和实缴的出资额、出资时间、出资方式与银行进账单、验资材料等一致",
            ["C"],
        ),
        _item(
            "即时信息按时公示",
            "网络核查",
            f"{GSXX}第十条",
            "股权变更、行政许可取得或变更等信息自形成之日起20个工作日内公示",
            ["B"],
        ),
        _item(
            "年度报告资产状况信息真实",
            "查阅资料",
            f"{GSXX}第九条",
            "年报所填资产总额、营业总收入、纳税总额等与财务报表、纳税申报表一致",
            ["C"],
            required=False,
        ),
    ],
    "SAMR-002": [
        _item(
            "食品生产许可证合法有效",
            "查阅资料",
            f"{FOOD}第三十五条",
            "持有有效的食品生产许可证，生产的品种在许可范围内",
            ["3"],
        ),
        _item(
            "生产环境条件符合要求",
            "现场检查",
            f"{FOOD}第三十三条",
            "厂区、车间卫生整洁，防鼠、防虫、防尘设施完好，生产设备清洁维护",
            ["3"],
        ),
        _item(
            "原料进货查验记录完整",
            "查阅资料",
            f"{FOOD}第五十条",
            "查验供货者许可证和合格证明，如实记录并保存凭证不少于产品保质期满后六个月",
            ["3"],
        ),
        _item(
            "出厂检验记录完整",
            "查阅资料",
            f"{FOOD}第五十一条",
            "查验出厂食品的检验合格证和安全状况，如实记录",
            ["3"],
        ),
        _item(
            "从业人员健康管理",
            "询问",
            f"{FOOD}第四十五条",
            "接触直接入口食品的从业人员持有有效健康证明",
            ["3"],
        ),
        _item(
            "产品抽样检验",
            "抽样检验",
            f"{FOOD}第八十七条",
            "抽取的样品经检验符合食品安全标准",
            ["3"],
            required=False,
        ),
    ],
    "SAMR-003": [
        _item(
            "取得特种设备生产许可",
            "查阅资料",
            f"{SE}第十八条",
            "持有有效的特种设备生产许可证，生产活动在许可范围内",
            ["4"],
        ),
        _item(
            "生产条件与许可条件一致",
            "现场检查",
            f"{SE}第十八条",
            "专业技术人员、设备设施、检验检测手段和质量保证体系保持许可时的条件",
            ["4"],
        ),
        _item(
            "出厂技术资料和文件齐全",
            "查阅资料",
            f"{SE}第二十一条",
            "随附安全技术规范要求的设计文件、产品质量合格证明、安装及使用维护保养说明等",
            ["4"],
        ),
    ],
    "SAMR-004": [
        _item(
            "广告内容不含禁止情形",
            "网络核查",
            f"{AD}第九条",
            "广告不使用国家级、最高级、最佳等用语，不含其他禁止情形",
            ["D"],
        ),
        _item(
            "引证内容真实准确",
            "查阅资料",
            f"{AD}第十一条",
            "广告使用的数据、统计资料、引用语真实、准确，并表明出处",
            ["D"],
        ),
        _item(
            "广告业务管理制度健全",
            "询问",
            f"{AD}第三十四条",
            "建立承接登记、审核、档案管理制度，查验有关证明文件并核对广告内容",
            ["D"],
        ),
    ],
    "SAMR-005": [
        _item(
            "强制检定计量器具登记备案",
            "查阅资料",
            f"{JL}第九条",
            "列入强制检定目录的计量器具已登记造册并向当地市场监管部门备案",
            ["4"],
        ),
        _item(
            "计量器具检定合格且在有效期内",
            "现场检查",
            f"{JL}第九条",
            "使用的强制检定计量器具有有效的检定证书或合格标志，未超过检定周期",
            ["4"],
        ),
    ],
    "SW-001": [
        _item(
            "按规定开具发票",
            "查阅资料",
            "《中华人民共和国发票管理办法》第三章",
            "发生经营业务按规定开具发票，未虚开、未转借发票",
            ["5"],
        ),
        _item(
            "发票保管符合规定",
            "现场检查",
            "《中华人民共和国发票管理办法》第三章",
            "建立发票使用登记制度，按规定存放和保管发票",
            ["5"],
        ),
    ],
    "SW-002": [
        _item(
            "按期办理纳税申报",
            "网络核查",
            "《中华人民共和国税收征收管理法》第二十五条",
            "在规定的申报期限内办理纳税申报，报送纳税申报表和财务会计报表",
            ["5"],
        ),
    ],
    "HJ-001": [
        _item(
            "按证排污",
            "现场检查",
            "《排污许可管理条例》第十七条",
            "污染物排放口、排放种类和浓度符合排污许可证规定",
            ["5"],
        ),
        _item(
            "开展自行监测并保存记录",
            "查阅资料",
            "《排污许可管理条例》第十九条",
            "按排污许可证规定的频次开展自行监测，原始记录保存期限不少于5年",
            ["5"],
        ),
    ],
    "HJ-002": [
        _item(
            "工业固体废物台账完整",
            "查阅资料",
            "《中华人民共和国固体废物污染环境防治法》第三十六条",
            "建立工业固体废物管理台账，如实记录产生、贮存、转移、处置情况",
            ["5"],
        ),
        _item(
            "贮存场所符合要求",
            "现场检查",
            "《中华人民共和国固体废物污染环境防治法》第三十六条",
            "贮存设施采取防扬散、防流失、防渗漏措施",
            ["5"],
        ),
    ],
}


def load(session: Session) -> int:
    """Publish version 1 of each demo matter's checklist, by an administrator of the matter's
    department (the system administrator when it has none); returns how many."""
    root = session.scalar(select(User).where(User.username == "admin"))
    made = 0
    matters = session.scalars(
        select(Matter).where(Matter.code.in_(DEMO_CHECKLISTS)).order_by(Matter.id)
    )
    for matter in matters:
        if checklists.current(session, matter.id) is not None:
            continue
        admin = session.scalar(
            select(User)
            .where(User.department_id == matter.department_id, User.role == Role.DEPT_ADMIN)
            .order_by(User.id)
            .limit(1)
        )
        checklists.create_version(
            session,
            actor=admin or root,
            matter_id=matter.id,
            items=DEMO_CHECKLISTS[matter.code],
            note="演示数据：依据市场监管总局随机抽查事项清单及相关法律法规编写",
        )
        made += 1
    return made
