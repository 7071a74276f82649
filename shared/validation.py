"""Validation errors in the words users read (Simplified Chinese).

Pydantic's own messages are English; our validators already raise Chinese messages. This maps
pydantic's error types to Chinese and keeps any custom message as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_TEMPLATES: dict[str, str] = {
    "missing": "必填",
    "extra_forbidden": "不允许的字段",
    "string_type": "应为文本",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "decimal_parsing": "应为数字",
    "decimal_max_places": "最多 {decimal_places} 位小数",
    "bool_type": "应为是或否",
    "bool_parsing": "应为是或否",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "date_type": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "datetime_type": "应为时间",
    "datetime_parsing": "应为时间（ISO 8601）",
    "datetime_from_date_parsing": "应为时间（ISO 8601）",
    "uuid_type": "应为 UUID",
    "uuid_parsing": "应为 UUID",
    "enum": "应为以下之一：{expected}",
    "literal_error": "应为以下之一：{expected}",
    "list_type": "应为列表",
    "tuple_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "json_invalid": "不是有效的 JSON",
    "json_type": "不是有效的 JSON",
}


def chinese_reason(error: Mapping[str, Any]) -> str:
    """One pydantic error as a Chinese sentence; custom (value_error) messages pass through."""
    kind = str(error.get("type", ""))
    message = str(error.get("msg", ""))
    if kind in ("value_error", "assertion_error"):
        # Our validators' own words, minus pydantic's "Value error, " prefix.
        return (
            message.split(", ", 1)[1]
            if message.startswith(("Value error", "Assertion"))
            else message
        )
    template = _TEMPLATES.get(kind)
    if template is None:
        return message
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError):
        return template.split("{", 1)[0].rstrip("：: ") or message
