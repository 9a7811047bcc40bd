"""Plans, commitments and draws over the API; the public view of both.

Inputs check shape only: the plan service names every rule a value breaks (field → messages).
The public schemas carry no strata (credit-risk classes), regions or inspectors (SRDP-1 §1.4).
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from .. import sizes
from ..db.states import ParticipationStatus, PlanStatus
from .common import OWN_DEPARTMENT, CursorQuery, whole


def _scope_list(item_length: int, description: str) -> fields.List:
    """A list of at most MAX_SCOPE_ITEMS strings of at most `item_length` characters."""
    return fields.List(
        fields.String(validate=validate.Length(max=item_length)),
        validate=validate.Length(max=sizes.MAX_SCOPE_ITEMS),
        metadata={"description": description},
    )


class ScopeIn(Schema):
    """Which entities a targeted plan draws from (every list optional; none = the whole list)."""

    entity_types = _scope_list(sizes.SHORT_TEXT, "主体类型")
    industry_prefixes = _scope_list(sizes.CODE_TEXT, "行业代码前缀")
    region_prefixes = _scope_list(sizes.CODE_TEXT, "行政区划代码前缀")
    tags = _scope_list(sizes.SHORT_TEXT, "标签")
    statuses = _scope_list(sizes.CODE_TEXT, "登记状态")


class PlanPatch(Schema):
    """A draft plan's settings; every field optional (only those given change)."""

    code = fields.String(
        validate=validate.Length(max=sizes.CODE_TEXT),
        metadata={"description": "任务编号（写入抽取数据包）"},
    )
    title = fields.String(
        validate=validate.Length(max=sizes.SHORT_TEXT), metadata={"description": "任务名称"}
    )
    matter_ids = fields.List(
        whole(),
        validate=validate.Length(max=sizes.MAX_MATTERS),
        metadata={"description": "抽查事项 id"},
    )
    scope = fields.Nested(
        lambda: ScopeIn(),
        metadata={
            "description": "定向抽查的筛选条件：entity_types、industry_prefixes、"
            "region_prefixes、tags、statuses；空对象为不定向"
        },
    )
    strata = fields.Dict(
        metadata={
            "description": '每个信用风险分类（A、B、C、D、X=未评级）：{"ratio": "0.05"} 或 '
            '{"count": 12}，可加 k_min、k_max'
        }
    )
    rounding = fields.String(
        validate=validate.Length(max=sizes.CODE_TEXT),
        metadata={"description": "ceil、half_up 或 floor"},
    )
    slots = fields.List(
        fields.String(
            validate=validate.Length(max=sizes.CODE_TEXT),
        ),
        validate=validate.Length(max=sizes.MAX_SLOTS),
        metadata={"description": "每组人员的部门代码（至少两个），或全为 *"},
    )
    region_rule = fields.String(
        validate=validate.Length(max=sizes.CODE_TEXT),
        metadata={"description": "none、different（异地）或 same（属地）"},
    )
    selection = fields.String(
        validate=validate.Length(max=sizes.CODE_TEXT),
        metadata={"description": "uniform 或 least_loaded"},
    )
    workload_cap = whole(metadata={"description": "每名检查人员本次最多检查对象数"})
    cooldown_months = whole(metadata={"description": "回避期（月）：期内检查过的不再派"})
    annual_cap = whole(allow_none=True, metadata={"description": "每个对象每年最多被抽次数"})
    exclude_open = fields.Boolean(metadata={"description": "排除正在接受检查的对象"})
    required_qualifications = fields.List(
        fields.String(
            validate=validate.Length(max=sizes.SHORT_TEXT),
        ),
        validate=validate.Length(max=sizes.MAX_QUALIFICATIONS),
        metadata={"description": "所需资质"},
    )
    randomness = fields.List(
        fields.Dict(),
        validate=validate.Length(max=sizes.MAX_RANDOMNESS),
        metadata={
            "description": '随机源，按进入种子的顺序：{"label", "kind": digits|text|server, '
            '"min_len"?, "source"?}'
        },
    )
    publish_mode = fields.String(
        validate=validate.Length(max=sizes.CODE_TEXT),
        metadata={"description": "immediate 或 after_fieldwork"},
    )
    fieldwork_start = fields.Date(allow_none=True)
    fieldwork_end = fields.Date(allow_none=True)
    notes = fields.String(allow_none=True, validate=validate.Length(max=sizes.NOTE_TEXT))
    recurrence = fields.String(
        validate=validate.Length(max=sizes.CODE_TEXT),
        metadata={
            "description": "once（一次性，抽取仪式）、monthly、quarterly 或 yearly（周期任务，"
            "调度程序按批次自动抽取；比例为全年比例）"
        },
    )
    plan_year = whole(allow_none=True, metadata={"description": "周期任务的计划年度"})


class PlanIn(PlanPatch):
    code = fields.String(
        required=True,
        validate=validate.Length(max=sizes.CODE_TEXT),
        metadata={"description": "任务编号（写入抽取数据包）"},
    )
    title = fields.String(
        required=True,
        validate=validate.Length(max=sizes.SHORT_TEXT),
        metadata={"description": "任务名称"},
    )
    strata = fields.Dict(required=True, metadata={"description": "每个信用风险分类的比例或数量"})
    slots = fields.List(
        fields.String(
            validate=validate.Length(max=sizes.CODE_TEXT),
        ),
        required=True,
        validate=validate.Length(max=sizes.MAX_SLOTS),
        metadata={"description": "每组人员的部门代码（至少两个）"},
    )
    department_id = whole(load_default=None, metadata={"description": OWN_DEPARTMENT})


class PlanQuery(CursorQuery):
    status = fields.String(
        load_default=None,
        validate=validate.OneOf(list(PlanStatus)),
    )


class CommitmentOut(Schema):
    id = fields.Integer()
    seq = fields.Integer()
    batch_key = fields.String(allow_none=True, metadata={"description": "周期任务的批次"})
    srdp_id = fields.String(metadata={"description": "抽取数据包中的 plan_id"})
    reason = fields.String(allow_none=True, metadata={"description": "重新抽取的理由"})
    sha256sums = fields.String(metadata={"description": "SHA256SUMS 文本"})
    snapshot = fields.String(metadata={"description": "快照摘要 = SHA256(SHA256SUMS)"})
    server_secret_sha256 = fields.String(allow_none=True)
    summary = fields.Dict(
        metadata={
            "description": "名录计数：可抽对象、各类 N 与 k、人员（联合抽查的配合部门只有合计，"
            "无各类数量）"
        }
    )
    committed_at = fields.DateTime()


class PlanOut(PlanPatch):
    id = fields.Integer()
    department_id = fields.Integer()
    status = fields.String()
    status_label = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    commitments = fields.List(fields.Nested(CommitmentOut))
    current_draw_id = fields.Integer(allow_none=True)
    participants = fields.List(
        fields.String(),
        metadata={"description": "联合检查的配合部门代码（岗位中本部门以外的部门）"},
    )
    activated_at = fields.DateTime(allow_none=True)
    chain_tip = fields.String(
        allow_none=True, metadata={"description": "服务器密值哈希链顶端（周期任务启用时公布）"}
    )


class BatchValueIn(Schema):
    """A published value typed in for one batch of a recurring plan before it falls due.

    Not `required` (as DrawIn): the plan is scoped first, then the service names what is
    missing, so another department learns nothing from a 422."""

    batch_key = fields.String(
        load_default="",
        validate=validate.Length(max=sizes.CODE_TEXT),
        metadata={"description": "批次，如 2027-01"},
    )
    label = fields.String(
        load_default="",
        validate=validate.Length(max=sizes.CODE_TEXT),
        metadata={"description": "计划中公开数值随机源的名称"},
    )
    value = fields.String(
        load_default="",
        validate=validate.Length(max=sizes.NOTE_TEXT),
        metadata={"description": "公开数值（可打印英文字符）"},
    )
    source = fields.String(
        load_default="",
        validate=validate.Length(max=sizes.SHORT_TEXT),
        metadata={"description": "发布处"},
    )


class BatchValueOut(Schema):
    batch_key = fields.String()
    label = fields.String()
    value = fields.String(metadata={"description": "规范化后的数值（去掉首尾空白）"})
    source = fields.String(allow_none=True)
    entered_at = fields.DateTime()


class BatchOut(Schema):
    """One batch of a recurring plan: its period, due time and state."""

    key = fields.String(metadata={"description": "批次，如 2026-12、2026-Q4、2026"})
    period_start = fields.Date()
    period_end = fields.Date()
    due_at = fields.DateTime(metadata={"description": "到期时间（UTC）"})
    status = fields.String(metadata={"description": "pending、drawn 或 failed"})
    attempts = fields.Integer()
    error = fields.String(allow_none=True)
    commitment_id = fields.Integer(allow_none=True)
    draw_id = fields.Integer(allow_none=True)


class CommitIn(Schema):
    reason = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=sizes.NOTE_TEXT),
        metadata={"description": "重新抽取时必填"},
    )


class RandomnessIn(Schema):
    label = fields.String(
        required=True,
        validate=validate.Length(max=sizes.CODE_TEXT),
        metadata={"description": "计划中的随机源名称"},
    )
    value = fields.String(
        required=True,
        validate=validate.Length(max=sizes.NOTE_TEXT),
        metadata={"description": "骰子数字或公开数值"},
    )
    witnesses = fields.List(
        fields.String(
            validate=validate.Length(max=sizes.SHORT_TEXT),
        ),
        validate=validate.Length(max=sizes.MAX_WITNESSES),
        metadata={"description": "掷骰见证人姓名"},
    )
    source = fields.String(
        validate=validate.Length(max=sizes.SHORT_TEXT), metadata={"description": "公开数值的出处"}
    )


class DrawIn(Schema):
    # Not `required`: the plan is looked up (and scoped) before the values are checked, so a
    # caller from another department learns nothing from a 422.
    randomness = fields.List(
        fields.Nested(RandomnessIn),
        load_default=list,
        validate=validate.Length(max=sizes.MAX_RANDOMNESS),
    )


class DrawOut(Schema):
    id = fields.Integer()
    plan_id = fields.Integer()
    commitment_id = fields.Integer()
    srdp_id = fields.String()
    batch_key = fields.String(allow_none=True)
    supersedes_id = fields.Integer(allow_none=True)
    superseded_by = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True, metadata={"description": "重新抽取的理由"})
    seed = fields.String()
    sample_sha256 = fields.String()
    assignment_sha256 = fields.String()
    summary = fields.Dict(
        metadata={
            "description": "各类 N、k、门槛号；抽中数、未配齐人数（联合抽查的配合部门只有合计 "
            "eligible、drawn，无 strata）"
        }
    )
    created_at = fields.DateTime()


class ManifestOut(Schema):
    """The auditors' manifest (SRDP-1 §7), with the replacements made so far."""

    spec = fields.String()
    plan_id = fields.String()
    plan = fields.Dict()
    sha256sums = fields.String()
    snapshot_sha256 = fields.String()
    committed_at = fields.String()
    randomness = fields.List(fields.Dict())
    seed_text = fields.String()
    seed = fields.String()
    strata = fields.List(fields.Dict())
    sample = fields.List(fields.Dict())
    assignment = fields.Dict()
    replacements = fields.List(fields.Dict())
    sample_sha256 = fields.String()
    assignment_sha256 = fields.String()
    software = fields.Dict()


class TeamsQuery(CursorQuery):
    pass


class MemberOut(Schema):
    slot = fields.Integer()
    inspector_id = fields.Integer(allow_none=True)
    name = fields.String(allow_none=True)
    cert_no = fields.String(allow_none=True)
    phase = fields.Integer(allow_none=True)
    replaced = fields.Boolean(metadata={"description": "经人员替换后的成员"})
    hidden = fields.Boolean(
        metadata={"description": "联合检查中其他部门的成员（配合部门只看到本部门的成员）"}
    )


class TeamOut(Schema):
    position = fields.Integer(metadata={"description": "处理顺序（0 起）"})
    entity_id = fields.Integer()
    uscc = fields.String()
    name = fields.String()
    stratum = fields.String(
        metadata={"description": "信用风险分类（仅发起部门及跨部门读者可见；配合部门无此项）"}
    )
    rank = fields.Integer(metadata={"description": "类内排名（同上）"})
    whole = fields.Boolean(
        metadata={
            "description": "检查组成员的姓名全部可见（发起部门、跨部门读者、本组成员）；"
            "为 false 时检查通知书不可查看"
        }
    )
    ticket = fields.String()
    members = fields.List(fields.Nested(MemberOut))


class TeamPage(Schema):
    """A keyset page of the draw's teams, as every cursor-paged list, with the drawn count."""

    items = fields.List(fields.Nested(TeamOut))
    next = fields.String(
        allow_none=True,
        metadata={"description": "下一页的 URL；最后一页为 null"},
    )
    limit = fields.Integer(metadata={"description": "本页的最大条数"})
    total = fields.Integer(metadata={"description": "抽中对象总数"})


class ReplacementIn(Schema):
    """All four are needed; checked after the draw is found (see DrawIn)."""

    position = whole(load_default=None, metadata={"description": "抽中对象的处理顺序"})
    slot = whole(load_default=None, metadata={"description": "组内位置（0 起）"})
    reason = fields.String(
        load_default=None,
        validate=validate.Length(max=sizes.CODE_TEXT),
        metadata={"description": "CONFLICT、ILLNESS、LEAVE、LEFT 或 OTHER"},
    )
    note = fields.String(
        load_default=None,
        validate=validate.Length(max=sizes.NOTE_TEXT),
        metadata={"description": "替换理由"},
    )


class ReplacementOut(Schema):
    id = fields.Integer()
    draw_id = fields.Integer()
    n = fields.Integer()
    position = fields.Integer()
    slot = fields.Integer()
    withdrawn_id = fields.Integer()
    inspector_id = fields.Integer(allow_none=True)
    reason = fields.String()
    note = fields.String()
    n_avail = fields.Integer()
    u = fields.Integer()
    at = fields.DateTime()


class InspectorTaskQuery(CursorQuery):
    finished = fields.Boolean(
        load_default=False,
        metadata={"description": "true：已结束的抽查任务中的检查任务（默认为进行中的）"},
    )
    year = fields.Integer(
        load_default=None,
        validate=validate.Range(min=2000, max=2999),
        metadata={"description": "抽取年份（北京时间）"},
    )


class InspectorTaskOut(Schema):
    draw_id = fields.Integer()
    plan_id = fields.Integer()
    plan_code = fields.String()
    plan_title = fields.String()
    fieldwork_start = fields.Date(allow_none=True)
    fieldwork_end = fields.Date(allow_none=True)
    team = fields.Nested(TeamOut)


# -- public ----------------------------------------------------------------------------------


class PublicCommitmentOut(Schema):
    seq = fields.Integer()
    srdp_id = fields.String()
    snapshot = fields.String()
    sha256sums = fields.String()
    server_secret_sha256 = fields.String(allow_none=True)
    committed_at = fields.DateTime()
    reason = fields.String(allow_none=True)
    draw_id = fields.Integer(allow_none=True, metadata={"description": "该承诺的抽取结果"})


class PublicPlanQuery(CursorQuery):
    year = fields.Integer(
        load_default=None,
        validate=validate.Range(min=2000, max=2999),
        metadata={"description": "承诺年份（北京时间）"},
    )
    department_id = whole(
        load_default=None, metadata={"description": "部门 id：牵头部门或联合抽查的参与部门"}
    )
    matter_id = whole(load_default=None, metadata={"description": "抽查事项 id"})


class PublicDrawQuery(CursorQuery):
    year = fields.Integer(
        load_default=None,
        validate=validate.Range(min=2000, max=2999),
        metadata={"description": "抽取年份（北京时间）"},
    )
    department_id = whole(
        load_default=None, metadata={"description": "部门 id：牵头部门或联合抽查的参与部门"}
    )
    matter_id = whole(load_default=None, metadata={"description": "抽查事项 id"})


class PublicDrawItemOut(Schema):
    """One draw in the public list; its whole public record is GET /public/draws/{draw_id}."""

    draw_id = fields.Integer()
    srdp_id = fields.String(metadata={"description": "数据包编号（SRDP-1 plan_id）"})
    plan_code = fields.String()
    plan_title = fields.String()
    department = fields.String()
    batch_key = fields.String(allow_none=True, metadata={"description": "周期任务的批次"})
    drawn_at = fields.DateTime()
    eligible = fields.Integer()
    drawn = fields.Integer()
    supersedes = fields.Integer(allow_none=True, metadata={"description": "它取代的抽取"})
    superseded_by = fields.Integer(allow_none=True, metadata={"description": "取代它的抽取"})
    published = fields.Boolean(metadata={"description": "随机数、种子和抽中名单是否已公示"})


class PublicPlanOut(Schema):
    id = fields.Integer()
    code = fields.String()
    title = fields.String()
    department = fields.String()
    status = fields.String()
    fieldwork_start = fields.Date(allow_none=True)
    fieldwork_end = fields.Date(allow_none=True)
    commitments = fields.List(fields.Nested(PublicCommitmentOut))


class PublicDrawnOut(Schema):
    entity_id = fields.String(metadata={"description": "统一社会信用代码"})
    name = fields.String()
    ticket = fields.String()


class PublicDrawOut(Schema):
    """What anyone may see; seed, randomness and the list only once `published`."""

    spec = fields.String()
    draw_id = fields.Integer()
    plan_id = fields.String()
    plan_code = fields.String()
    plan_title = fields.String()
    department = fields.String()
    committed_at = fields.String()
    sha256sums = fields.String()
    snapshot_sha256 = fields.String()
    server_secret_sha256 = fields.String(allow_none=True)
    drawn_at = fields.String()
    eligible = fields.Integer()
    drawn = fields.Integer()
    sample_sha256 = fields.String()
    assignment_sha256 = fields.String()
    supersedes = fields.Integer(allow_none=True)
    redraw_reason = fields.String(allow_none=True)
    superseded_by = fields.Integer(allow_none=True)
    superseded_reason = fields.String(allow_none=True, metadata={"description": "取代它的理由"})
    replacements = fields.Integer()
    published = fields.Boolean()
    randomness = fields.List(fields.Dict())
    seed_text = fields.String()
    seed = fields.String()
    sample = fields.List(fields.Nested(PublicDrawnOut))


class PublicDrawCheckQuery(Schema):
    uscc = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "要核验的企业的统一社会信用代码（18 位）"},
    )


class PublicDrawCheckOut(Schema):
    """What a browser needs to check one firm against a published draw (SRDP-1 §5.3): the
    entity id is the USCC; the threshold is its group's, the group itself is not named."""

    draw_id = fields.Integer()
    entity_id = fields.String(metadata={"description": "快照中的主体编号（即统一社会信用代码）"})
    in_snapshot = fields.Boolean(metadata={"description": "是否在本次抽取冻结的名录中"})
    threshold_ticket = fields.String(
        allow_none=True,
        metadata={
            "description": "该主体所在组的门槛签号（该组最后一个抽中主体的签号；"
            "该组未抽取任何主体时为 null）；不在名录中时没有此项"
        },
    )


class ParticipationQuery(CursorQuery):
    status = fields.String(
        load_default=None,
        validate=validate.OneOf(list(ParticipationStatus)),
        metadata={"description": "pending（待确认）、accepted（已确认参加）或 declined（已拒绝）"},
    )


class ParticipationIn(Schema):
    """A participating department's answer to a joint plan's request. `decision` is not
    `required` (as BatchValueIn): the plan is scoped first, then the service names what is
    missing, so another department learns nothing from a 422."""

    decision = fields.String(
        load_default=None,
        validate=validate.OneOf(["accept", "decline"]),
        metadata={"description": "accept（确认参加）或 decline（拒绝，须填写 reason）"},
    )
    reason = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=sizes.NOTE_TEXT),
        metadata={"description": "拒绝的理由"},
    )


class ParticipationOut(Schema):
    """A joint plan's request to one participating department and its answer. The lead
    department sees how many of the department's inspectors are eligible, never who."""

    plan_id = fields.Integer()
    plan_code = fields.String()
    plan_title = fields.String()
    plan_status = fields.String(validate=validate.OneOf(list(PlanStatus)))
    lead_department_id = fields.Integer()
    lead_department_name = fields.String()
    department_id = fields.Integer()
    department_code = fields.String()
    department_name = fields.String()
    status = fields.String(validate=validate.OneOf(list(ParticipationStatus)))
    status_label = fields.String()
    reason = fields.String(allow_none=True)
    requested_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    eligible_inspectors = fields.Integer(
        allow_none=True,
        metadata={"description": "该部门目前符合条件的执法人员人数（仅人数，不含姓名）"},
    )
