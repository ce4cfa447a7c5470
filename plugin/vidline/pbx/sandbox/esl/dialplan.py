"""The XML dialplan, as far as vidline's legs need it.

Built in: the lab's extensions (shared/freeswitch/conf/dialplan/default.xml
and pass2's): ``customer_device`` (answers and sits), ``customer_park``/
``park`` (answers and parks: the half vidline attaches ``unicast`` to),
``vidline_queue`` (``set_profile_var`` of the caller id then ``callcenter
${vidline_queue}``), ``queue_<name>``. More FreeSWITCH XML dialplan files
(what ``vidline dialplan`` renders) are read with the same subset:
``<extension>`` with ``<condition field=... expression=...>`` (all must
match; ``field`` is ``destination_number`` or a ``${var}``) and their
``<action application data>``. Applications: answer, park, sleep, hangup,
set, export, set_profile_var, callcenter, transfer, playback, log and other
no-ops; ``${var}`` in data is expanded from the channel first.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

LAB_DIALPLAN = """<include><context name="default">
  <extension name="customer_device">
    <condition field="destination_number" expression="^customer_device$">
      <action application="answer"/>
      <action application="sleep" data="120000"/>
      <action application="hangup"/>
    </condition>
  </extension>
  <extension name="customer_park">
    <condition field="destination_number" expression="^customer_park$">
      <action application="answer"/>
      <action application="park"/>
    </condition>
  </extension>
  <extension name="park">
    <condition field="destination_number" expression="^park$">
      <action application="answer"/>
      <action application="park"/>
    </condition>
  </extension>
  <extension name="vidline_queue">
    <condition field="destination_number" expression="^vidline_queue$">
      <action application="set_profile_var" data="caller_id_name=${vidline_cid_name}"/>
      <action application="set_profile_var" data="caller_id_number=${vidline_cid_number}"/>
      <action application="callcenter" data="${vidline_queue}"/>
      <action application="hangup"/>
    </condition>
  </extension>
</context></include>"""


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    expression: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Extension:
    name: str
    context: str
    conditions: tuple[Condition, ...]
    actions: tuple[tuple[str, str], ...]


class Dialplan:
    def __init__(self) -> None:
        self.extensions: list[Extension] = []

    def load_text(self, text: str) -> None:
        root = ET.fromstring(text)
        contexts = [root] if root.tag == "context" else root.iter("context")
        for ctx in contexts:
            name = ctx.get("name", "default")
            for ext in ctx.iter("extension"):
                conditions: list[Condition] = []
                actions: list[tuple[str, str]] = []
                for cond in ext.iter("condition"):
                    if cond.get("field") and cond.get("expression") is not None:
                        conditions.append(Condition(cond.get("field", ""),
                                                    re.compile(cond.get("expression", ""))))
                    actions += [(a.get("application", ""), a.get("data", ""))
                                for a in cond.findall("action")]
                # an extension of a later file replaces the built-in one of that name
                self.extensions = [e for e in self.extensions
                                   if (e.name, e.context) != (ext.get("name", ""), name)]
                self.extensions.append(Extension(ext.get("name", ""), name, tuple(conditions),
                                                 tuple(actions)))

    def load_files(self, paths: Iterable[str | Path]) -> None:
        for path in paths:
            self.load_text(Path(path).read_text(encoding="utf-8"))

    def add_queue_extensions(self, queues: Iterable[str]) -> None:
        """``queue_<name>``: answer, callcenter, hangup (the lab's queue_support)."""
        for queue in queues:
            short = queue.split("@", 1)[0]
            self.extensions.append(Extension(
                f"queue_{short}", "default",
                (Condition("destination_number", re.compile(f"^queue_{re.escape(short)}$")),),
                (("answer", ""), ("callcenter", queue), ("hangup", ""))))

    def find(self, context: str, destination: str,
             getvar: object = None) -> Extension | None:
        for ext in self.extensions:
            if ext.context != context:
                continue
            if all(_matches(c, destination, getvar) for c in ext.conditions):
                return ext
        return None


def _matches(cond: Condition, destination: str, getvar: object) -> bool:
    if cond.field == "destination_number":
        value = destination
    elif cond.field.startswith("${") and cond.field.endswith("}") and callable(getvar):
        value = str(getvar(cond.field[2:-1]))
    else:
        value = ""
    return cond.expression.search(value) is not None


def default_dialplan(queues: Iterable[str] = (), files: Iterable[str | Path] = ()) -> Dialplan:
    plan = Dialplan()
    plan.load_text(LAB_DIALPLAN)
    plan.add_queue_extensions(queues)
    plan.load_files(files)
    return plan
