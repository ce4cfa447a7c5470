"""vidline's sandbox PBX: the demo's PBX and the test double for vidline.

It speaks real AMI (Asterisk 22's manager protocol) on loopback and opens
real AudioSocket connections, and it queues, rings, writes CDR and
queue_log rows the way the transcripts in shared/asterisk show Asterisk
22.10.1 doing it. vidline talks to it exactly as to Asterisk.

Modules: pbx (SandboxPbx, the composition root), ami_server (sessions,
manager.c's line reading), actions (the AMI actions), headers (event
header blocks), channels (channels, the AudioSocket leg, MOH/tone audio),
dialplan (vidline-inbound), queues (app_queue-like engine), legs (agent
dial/connect/complete), agents (agent endpoints), cdr (rows and the
writer thread), control (the API tests and the demo use on the agents'
side).
"""
