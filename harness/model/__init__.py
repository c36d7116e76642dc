"""The scripted model: a local stand-in for the hosted model a chatbot calls, so its replies are known.

``script`` is what a scenario's ``model:`` block says, ``server`` the ASGI app that plays it on a
loopback port, ``protocols`` the wire formats it speaks, ``routing`` how an in-process app's calls
reach it unchanged, ``calls`` what it records, ``cassette`` record and replay against a real provider.
"""
