"""Alternative to REAP_KILL [I]: ``PIDFD_SIGNAL_PROCESS_GROUP_EXPEDITE``, SIGKILL and reap
in one ``pidfd_send_signal()``.

An idea in prose only, no code and no flag value posted: Minchan Kim, 2026-05-19, "Re:
[PATCH v3]" <agzNyXKIirm1zOob@google.com>
(https://lore.kernel.org/r/agzNyXKIirm1zOob@google.com; docs/sources.md §T3.7): a new
``pidfd_send_signal()`` flag that delivers SIGKILL and runs the OOM reaper's zap
synchronously in the same call, while ``task->mm`` is still valid. Christian Brauner wanted
to see code first (<20260521-voreilig-investieren-34f6e0c56258@brauner>); Linus noted it
would also need the mmap lock
(<CAHk-=whqfr-M9ip9OWAUR1X6aOEy2P4gSWYDkbkTCc3E=jCz_A@mail.gmail.com>).

Everything in :mod:`.kernel.signal` is the model's reading [I]: the flag value, that it
requires SIGKILL, that the signal part is the ordinary (permission-checked, pid-namespace
checked) ``pidfd_send_signal()`` to the thread group, and that the reap follows the
baseline's ``task_will_free_mem()`` test (no reap while another live process shares the mm).
"""
