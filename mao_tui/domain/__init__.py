"""Records and the typed event stream the engine emits: the leaf every layer imports.

``ids`` (ids, timestamps), ``status`` (session, workstream and attempt states), ``plan``,
``usage`` (token and cost totals), ``workspace`` (applying files, verification checks) and
``events`` (every engine event and their union, ``EngineEvent``). The names of all six are
importable from here.
"""

from mao_tui.domain.events import *  # noqa: F403
from mao_tui.domain.ids import *  # noqa: F403
from mao_tui.domain.plan import *  # noqa: F403
from mao_tui.domain.status import *  # noqa: F403
from mao_tui.domain.usage import *  # noqa: F403
from mao_tui.domain.workspace import *  # noqa: F403
