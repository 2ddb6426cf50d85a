"""Health (the one endpoint without auth), the worker's state, and who the caller is."""

from ninja import Router

from trading.api.responses import responses
from trading.api.schemas import HealthOut, MeOut, WorkerOut
from trading.worker.health import heartbeat_state

router = Router(tags=["status"])


@router.get("/health", auth=None, response=HealthOut, summary="Liveness (no auth)")
def health(request):
    return {"status": "ok", "worker_connected": heartbeat_state()["connected"]}


@router.get("/worker", response=responses({200: WorkerOut}), summary="The IB worker's heartbeat")
def worker(request):
    return heartbeat_state()


@router.get("/me", response=responses({200: MeOut}), summary="The caller: user, and the token used if any")
def me(request):
    principal = request.auth
    return {
        "username": principal.user.get_username(),
        "is_staff": principal.user.is_staff,
        "via": principal.via,
        "token_name": principal.token.name if principal.token else None,
        "read_only": principal.read_only,
    }
