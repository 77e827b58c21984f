"""The API's validators (RFC 9110 §8.8.3, §13): its ETags matched by ..conditional, like the
files' are, for conditional reads (304) and optimistic-concurrency writes (412)."""

from __future__ import annotations

from ..conditional import Conditions, EntityTag, evaluate_preconditions
from ..errors import HttpError
from ..messages import Request
from .store import JsonValue, encode, etag_for


def conditions_hold(request: Request, tag: bytes, *, if_match: bool) -> bool:
    """Whether the request's If-Match (strong comparison) or, with `if_match` false, its
    If-None-Match (weak comparison) lets it proceed against the representation tagged `tag`.
    An absent header always does."""
    if if_match:
        conditions = Conditions(if_match=request.header(b"if-match"))
    else:
        conditions = Conditions(if_none_match=request.header(b"if-none-match"))
    etag = EntityTag(opaque=tag.decode("ascii").strip('"'))
    # Any method that is not GET/HEAD gets 412 for a matching If-None-Match; only "proceed or
    # not" is asked here, the caller picks 304 or 412.
    return evaluate_preconditions(conditions, method="PUT", etag=etag, last_modified=None) == 200


def check_preconditions(request: Request, current: JsonValue) -> None:
    """If-Match and If-None-Match, inside the write lock, so that the check and the change
    are one atomic step: the basis of optimistic concurrency."""
    tag = etag_for(encode(current))
    if not conditions_hold(request, tag, if_match=True):
        raise HttpError(
            412,
            "the resource changed since you read it (If-Match does not match its ETag); "
            "GET it again, then retry",
            headers=((b"etag", tag),),
        )
    if not conditions_hold(request, tag, if_match=False):
        raise HttpError(412, "the resource exists and If-None-Match forbids changing it")
