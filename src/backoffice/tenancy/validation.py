"""Rules on input shared by forms and services."""

from django.contrib.auth.password_validation import get_password_validators, validate_password

from backoffice.tenancy.models import User

PASSWORD_MIN_LENGTH = 10


def password_check(password: str, *, user: User | None = None) -> None:
    """
    Apply Django's password validators with a minimum of 10 characters
    (stricter than the sign-in default, since an administrator sets it for
    someone else); raise ValidationError listing every problem.
    """
    validators = get_password_validators(
        [
            {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
            {
                "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
                "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
            },
            {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
            {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
        ]
    )
    validate_password(password, user=user, password_validators=validators)
