"""The portal's application flow (seed, steps 0-5) and the personal cabinet, as a service
over ports.

:class:`ApplicationService` is written only against :mod:`edqueue.ports`, so any host (a
government portal, a mobile backend, a regional system) plugs in its own identity, consent,
register, notification and storage services. It is built from two frozen values:
:class:`Ports` and :class:`LocalityConfig`. Between steps the flow's state is a
:class:`Draft` kept in the host's :class:`~edqueue.ports.DraftStore`.

One module per job: :mod:`~edqueue.service.identity` (step 0, codes, binding),
:mod:`~edqueue.service.flow` (steps 1-5), :mod:`~edqueue.service.cabinet` (the personal
cabinet and its access rules), :mod:`~edqueue.service.desk` (staff decisions),
:mod:`~edqueue.service.projection` (the queues rebuilt and caught up from the log),
:mod:`~edqueue.service.notifications`, :mod:`~edqueue.service.refusals`,
:mod:`~edqueue.service.drafts`; :mod:`~edqueue.service.facade` puts them behind one object.

Every command either applies completely or raises an :class:`~edqueue.errors.EdqueueError`
and changes nothing, with one deliberate exception: a wrong confirmation code counts
against the attempts. A port that fails raises :class:`~edqueue.errors.PortError` before
anything is written.
"""

from edqueue.service.config import LocalityConfig, Ports, Store
from edqueue.service.drafts import Draft, purge_expired
from edqueue.service.facade import ApplicationService
from edqueue.service.flow import REQUIRED_CONSENTS, Submission
from edqueue.service.identity import BindingOffer

__all__ = [
    "REQUIRED_CONSENTS",
    "ApplicationService",
    "BindingOffer",
    "Draft",
    "LocalityConfig",
    "Ports",
    "Store",
    "Submission",
    "purge_expired",
]
