"""Form fields and validators shared by the features' forms."""
from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from wtforms import DecimalField
from wtforms.validators import ValidationError


class FiniteDecimalField(DecimalField):
    """A decimal field that refuses "NaN", "sNaN" and "Infinity": Python's Decimal parses them, and
    comparing them later (NumberRange, rules) raises instead of failing validation."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError(self.gettext("Not a valid decimal value."))


class YearsBetween:
    """A date or a moment within these years: beyond them (year 1, year 9999) nothing is meant, and
    converting such a moment between time zones overflows."""

    def __init__(self, first: int = 2000, last: int = 2100):
        self.first, self.last = first, last

    def __call__(self, form, field):
        value = field.data
        if isinstance(value, (date, datetime)) and not self.first <= value.year <= self.last:
            raise ValidationError(_l("Date hors limites : entre %(first)s et %(last)s.", first=self.first,
                                     last=self.last))
