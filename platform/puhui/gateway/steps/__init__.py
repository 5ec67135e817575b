"""Gateway steps 6-8 and 11-13 (JR/T 0185-2020): plain functions the pipeline calls in order."""

from puhui.gateway.steps.audit import audit_call
from puhui.gateway.steps.controls import GatewayControls
from puhui.gateway.steps.ip import check_ip, client_address
from puhui.gateway.steps.masking import mask_response
from puhui.gateway.steps.quota import RATE_PLANS, TenantPlan, admit, plan_named
from puhui.gateway.steps.response_signature import sign_response
from puhui.gateway.steps.signature import verify_signature

__all__ = [
    "RATE_PLANS",
    "GatewayControls",
    "TenantPlan",
    "admit",
    "audit_call",
    "check_ip",
    "client_address",
    "mask_response",
    "plan_named",
    "sign_response",
    "verify_signature",
]
