"""Chinese names of audit actions, for the console's audit log."""

ACTION_LABELS = {
    "department.create": "新建部门",
    "department.update": "修改部门",
    "user.create": "新建用户",
    "user.update": "修改用户",
    "user.login": "登录",
    "user.logout": "退出登录",
    "user.change_password": "修改密码",
    "user.reset_password": "重置密码",
    "token.issue": "签发 API 令牌",
    "token.revoke": "吊销 API 令牌",
    "task.enqueue": "提交后台任务",
    "audit.verify": "校验审计链",
    "workday.add": "添加工作日调整",
    "workday.delete": "删除工作日调整",
}
