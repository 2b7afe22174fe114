from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from marketplace.fields import FiniteDecimalField


class RespondForm(FlaskForm):
    quantity = FiniteDecimalField(_l("Quantité souhaitée / proposée"), places=3,
                                  validators=[Optional(), NumberRange(min=0, max=Decimal("1e10"))])
    message = TextAreaField(_l("Message"), validators=[InputRequired(), Length(min=2, max=5000)],
                            default=_l("Bonjour, je suis intéressé par votre annonce."))


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Votre message"), validators=[InputRequired(), Length(min=1, max=5000)])
