"""Example files with Chinese headers, offered for download beside the upload form."""

import csv
import io

from customers.models import ImportJob

EXAMPLE_HEADERS = {
    ImportJob.Kind.CUSTOMERS: [
        "户号",
        "户名",
        "用电类别",
        "行业代码",
        "供电电压",
        "合同容量(kVA)",
        "重要用户等级",
        "供电所",
        "社区",
        "台区",
        "用电地址",
        "用户状态",
    ],
    ImportJob.Kind.CONSUMPTION: ["户号", "电费年月", "抄见电量(kWh)", "应收电费(元)", "最大需量(kW)"],
}
EXAMPLE_ROWS = {
    ImportJob.Kind.CUSTOMERS: [
        [
            "3100000001",
            "城关镇幸福小区张三",
            "居民生活",
            "",
            "220V",
            "8",
            "无",
            "ST001",
            "幸福社区",
            "",
            "城关镇幸福小区3栋2单元",
            "正常",
        ],
        [
            "3100000002",
            "某县第一人民医院",
            "公共服务",
            "8411",
            "10kV",
            "1250",
            "一级",
            "城关供电所",
            "",
            "",
            "城关镇人民路1号",
            "正常",
        ],
        [
            "3100000003",
            "张庄村李四",
            "农业生产",
            "0190",
            "0.4kV",
            "30",
            "无",
            "ST002",
            "",
            "张庄1号台区",
            "张庄村",
            "暂停",
        ],
    ],
    ImportJob.Kind.CONSUMPTION: [
        ["3100000001", "2026-01", "215", "120.40", ""],
        ["3100000002", "202601", "186000", "111600.00", "820"],
        ["3100000003", "2026年1月", "1260", "705.60", ""],
    ],
}


def example_csv(kind: str) -> bytes:
    """A small CSV in UTF-8 with BOM (so that Excel shows the Chinese headers correctly)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXAMPLE_HEADERS[kind])
    writer.writerows(EXAMPLE_ROWS[kind])
    return buffer.getvalue().encode("utf-8-sig")
