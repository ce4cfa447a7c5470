"""The sandbox PBX's FreeSWITCH face: mod_event_socket + mod_callcenter +
mod_loopback + mod_cdr_csv, as a real FreeSWITCH 1.10.12 showed them in
shared/freeswitch (FINDINGS.md and the raw transcripts).

How to start it (FS-adapter's tests, the demo)
----------------------------------------------
The same :class:`vidline.pbx.sandbox.pbx.SandboxPbx` serves both faces; the
config's top-level ``pbx`` picks which one it opens::

    config = parse_config({
        "pbx": "freeswitch",
        "agents": [{"username": "alice", ..., "interface": "user/1001",
                    "member_name": "Alice", "queues": ["support"]}],
        "routing": {"default_queue": "support"},
        "sandbox": {"enabled": True, "esl_port": 0, "esl_password": "ClueCon",
                    "auto_answer": False,
                    "queues": [{"name": "support", "strategy": "longest-idle-agent"}]},
    })
    pbx = SandboxPbx(config, use_db=False)
    await pbx.start()
    pbx.esl_port            # the bound port on config.sandbox.esl_host (127.0.0.1)
    ...                     # connect, "auth <esl_password>", as to FreeSWITCH
    await pbx.close()       # ends every call (SYSTEM_SHUTDOWN), bounded (sandbox/tasks.py)

What the FreeSWITCH side looks like:

- queues are ``<name>@<domain>`` for each sandbox queue (and each agent's
  ``agent-<ext>`` queue); agents are ``<ext>@<domain>`` (``<ext>`` from the
  interface: ``user/1001``, ``PJSIP/1001``, ``1001@default`` all give 1001),
  type callback, tier level 1 in every queue their ``queues`` list names.
  ``<domain>`` is ``config.freeswitch.domain`` when that section exists,
  else ``default``.
- originate: ``{vars}loopback/<exten>[/<context>] &callcenter(q@domain)``
  or ``... <exten> [XML [<context>]]``; the b-leg (and an extension a-leg)
  runs the sandbox dialplan: the lab's extensions (``customer_device``,
  ``customer_park``, ``park``, ``vidline_queue``, ``queue_<name>``) plus
  any FreeSWITCH XML dialplan file given as ``SandboxPbx(config,
  fs_dialplan=[path, ...])`` (e.g. what ``vidline dialplan`` renders).
  The same list takes configuration documents too: a ``callcenter.conf``
  (queue params such as max-wait-time, agents' max-no-answer, wrap-up-time,
  delays, tiers) and a ``cdr_csv.conf`` (the CDR template), see conf.py.
  Without them: queues from ``sandbox.queues`` (app_queue strategy names
  map to mod_callcenter's), ``agent-<ext>@<domain>`` with max-wait-time =
  ``routing.last_agent_timeout`` and the no-agent timeout 3 s (pass2 J),
  agents max-no-answer 3, wrap-up 0, reject delay 5 s, busy delay 5 s.
  Variables are parsed with FreeSWITCH's own rules (see ``originate.py``).
- api: status, originate, uuid_kill, uuid_getvar, uuid_setvar, uuid_exists,
  uuid_dump [json], hupall, show channels|calls [count|as json],
  callcenter_config (queue list|count members|agents|tiers, queue list,
  agent list, agent set status|state|wrap_up_time|max_no_answer|ready_time|
  reject_delay_time|busy_delay_time|no_answer_delay_time, tier list|add|del, tier set
  state|level|position), reloadxml, echo, global_getvar/global_setvar,
  fsctl shutdown restart (pass2 G; ``pbx.fs.restart_down`` seconds down,
  7.9 like the lab). Anything else: ``-ERR <cmd> Command not found!``.
- events: CHANNEL_CREATE, CHANNEL_ANSWER, CHANNEL_BRIDGE,
  CHANNEL_HANGUP_COMPLETE, BACKGROUND_JOB and the callcenter::info ones
  (what vidline subscribes to); ``event plain ALL`` gets those, not the
  switch's other events (CHANNEL_STATE, HEARTBEAT, ...).
- audio: ``sendmsg <parked-b-uuid>`` with ``call-command: unicast`` binds
  ``local-ip:local-port`` (UDP or TCP) and streams raw L16 8 kHz, 320-byte
  frames every 20 ms to ``remote-ip:remote-port``: music on hold while the
  member waits, the agent's tone once bridged; what vidline sends back is
  what the agent hears. 16 kHz (640-byte frames) when vidline's
  ``audiosocket.sample_rate`` is 16000: the sandbox then runs as if vars.xml
  set the global ``loopback_initial_codec=L16@16000h`` (pass2 I2).
- CDR: one mod_cdr_csv line per leg (template of the lab, ``cdr.py``),
  appended to ``<sandbox.cdr_csv_dir>/Master.csv`` when set.

Driving the agents (the same control API as the Asterisk face)
--------------------------------------------------------------
``pbx.control`` verbs take the agent's interface from the config or its
FreeSWITCH name (``1001@default``)::

    await ctl.wait_for(lambda: ctl.ringing("1001@default"))
    await ctl.answer("1001@default")      # bridge-agent-start, agent tone on the unicast
    await ctl.reject("1001@default")      # bridge-agent-fail (CALL_REJECTED)
    await ctl.agent_hangup("1001@default")  # bridge-agent-end, member-queue-end Terminated
    ctl.fs.channels()                     # uuid -> variables of every live channel
    ctl.fs.cdr_lines()                    # every mod_cdr_csv line so far
    ctl.fs.audio_in(uuid)                 # last 10 s vidline sent on the unicast (either half)
    ctl.fs.unicast_frames_out(b_uuid)     # frames the parked half sent to vidline
    ctl.fs.agent_status(name) / agent_state(name) / set_agent_status(name, "On Break")
    ctl.fs.members("support@default")     # session uuids waiting in a queue
    ctl.fs.drop_esl()                     # close every ESL socket (calls go on: pass2 F)
    ctl.fs.api("callcenter_config agent set wrap_up_time 1001@default 0")  # as fs_cli

With ``sandbox.auto_answer_after`` set agents answer by themselves.

Agents ring through the lab's loopback contact whatever contact the config
names (the one recorded shape of agent legs: ``loopback/agent_answer-a/-b``
then the phone pair ``loopback/agent_tone-a/-b``; CC-Agent-UUID is tone-a).
Not emulated: ``eval``, ``uuid_record``, mod_callcenter's tier rules and
abandoned-resume, ``event json/xml``, ring-all's exact events (unrecorded:
every free agent is offered at once to the first member in line, the losers
get bridge-agent-fail ORIGINATOR_CANCEL). As in mod_callcenter, an offered
agent is Receiving and not offered to another member meanwhile.

Modules: protocol (sans-IO framing, replies, plain events, subscriptions),
originate (the originate string parsing), fschannels (channels and their
event header blocks), dialplan (extensions), loopback (originate, the
loopback pairs), callcenter (mod_callcenter's members and dispatcher),
offers (the agent legs), ccmodel (its tables and listings), conf
(callcenter.conf / cdr_csv.conf documents), commands (api commands),
unicast (the audio), cdr (mod_cdr_csv), control (ctl.fs), server (the
asyncio ESL server), face (FsSwitch, attached to SandboxPbx).
"""
