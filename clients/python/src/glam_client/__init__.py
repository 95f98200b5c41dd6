"""glam-client: talk to `glam serve` from Python (standard library only).

    from glam_client import Client
    c = Client("http://127.0.0.1:8000", api_key="...")
    r = c.score(["Goal: go to the red ball\\nAction: "], [["turn left", "go forward"]])
    r[0].probs, r[0].value, r.value_head_trained

`LamorelCaller` has Lamorel's `Caller` methods (`score`, `custom_module_fns`) so a Lamorel loop changes an
import, not its code.
"""
from .client import Client, Forward, GlamAPIError, Scored, ScoreList, ValueList
from .lamorel import LamorelCaller

__all__ = ["Client", "Forward", "GlamAPIError", "Scored", "ScoreList", "ValueList", "LamorelCaller"]
__version__ = "0.1.0"
