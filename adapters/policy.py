"""The support policy table: what each BANKING77 intent means for priority and hand-over.

BANKING77 labels only the intent of a message. Priority and "needs a human" are not in the
data: they are this project's policy, written down here once, and the triage and escalation
data builders derive those fields from it (so the adapters learn a documented rule, not an
invented label). Change the table, rebuild the data, retrain.

Priorities:

- ``urgent``: money or the account is at risk right now (a lost, stolen or compromised card,
  a payment or withdrawal the customer does not recognise, a card the ATM kept). Always a human.
- ``high``: money is missing or stuck, or the customer is locked out (a transfer that did not
  arrive, wrong cash from an ATM, a double charge, a blocked PIN, identity checks that fail).
- ``normal``: something does not work or the customer wants a change, but nothing is at risk.
- ``low``: general information (fees, limits, supported countries and currencies, how-tos).

``needs_human`` is true where a person must act: investigate or dispute a transaction, block
or replace a card, close an account, refund or trace money. It is false where self-service or
the knowledge base resolves the request. ``reason`` is the escalation reason the escalation
adapter reports for such intents (one of ``REASONS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Priority = Literal["urgent", "high", "normal", "low"]
EscalationReason = Literal[
    "security",
    "dispute",
    "money_missing",
    "account_action",
    "unanswerable",
    "human_requested",
    "unresolved",
    "none",
]
"""Why a request goes to a human. ``unanswerable``: the knowledge base has no answer;
``human_requested``: the customer asked for a person; ``unresolved``: a logged answer got
negative feedback; ``none``: no escalation. The others come from the table below."""

PRIORITIES: tuple[Priority, ...] = get_args(Priority)
REASONS: tuple[EscalationReason, ...] = get_args(EscalationReason)


@dataclass(frozen=True)
class IntentPolicy:
    """What the support policy says about one intent."""

    priority: Priority
    needs_human: bool
    reason: EscalationReason = "none"
    """Why a human is needed (``none`` when ``needs_human`` is false)."""


def _policy(priority: Priority, reason: EscalationReason = "none") -> IntentPolicy:
    return IntentPolicy(priority=priority, needs_human=reason != "none", reason=reason)


URGENT_SECURITY = _policy("urgent", "security")
URGENT_DISPUTE = _policy("urgent", "dispute")
HIGH_MONEY = _policy("high", "money_missing")
HIGH_DISPUTE = _policy("high", "dispute")
HIGH_ACCOUNT = _policy("high", "account_action")
HIGH_SELF = _policy("high")
NORMAL_ACCOUNT = _policy("normal", "account_action")
NORMAL_SELF = _policy("normal")
LOW = _policy("low")

# Every one of the 77 intents, explicitly: a test checks the table against the data, so a
# label added or renamed upstream fails loudly instead of silently defaulting.
POLICY: dict[str, IntentPolicy] = {
    # --- urgent: the customer's money or account is at risk now --------------------------
    "lost_or_stolen_card": URGENT_SECURITY,
    "compromised_card": URGENT_SECURITY,
    "lost_or_stolen_phone": URGENT_SECURITY,
    "card_swallowed": URGENT_SECURITY,
    "card_payment_not_recognised": URGENT_DISPUTE,
    "cash_withdrawal_not_recognised": URGENT_DISPUTE,
    "direct_debit_payment_not_recognised": URGENT_DISPUTE,
    # --- high: money missing or stuck, or the customer locked out -----------------------
    "transaction_charged_twice": HIGH_DISPUTE,
    "wrong_amount_of_cash_received": HIGH_DISPUTE,
    "transfer_not_received_by_recipient": HIGH_MONEY,
    "Refund_not_showing_up": HIGH_MONEY,
    "balance_not_updated_after_bank_transfer": HIGH_MONEY,
    "balance_not_updated_after_cheque_or_cash_deposit": HIGH_MONEY,
    "top_up_reverted": HIGH_MONEY,
    "unable_to_verify_identity": HIGH_ACCOUNT,
    "pin_blocked": HIGH_SELF,
    "passcode_forgotten": HIGH_SELF,
    "failed_transfer": HIGH_SELF,
    "declined_transfer": HIGH_SELF,
    "top_up_failed": HIGH_SELF,
    # --- normal: something does not work, or a change the customer wants ----------------
    "terminate_account": NORMAL_ACCOUNT,
    "request_refund": NORMAL_ACCOUNT,
    "extra_charge_on_statement": _policy("normal", "dispute"),
    "card_payment_wrong_exchange_rate": NORMAL_SELF,
    "wrong_exchange_rate_for_cash_withdrawal": NORMAL_SELF,
    "card_payment_fee_charged": NORMAL_SELF,
    "transfer_fee_charged": NORMAL_SELF,
    "cash_withdrawal_charge": NORMAL_SELF,
    "reverted_card_payment?": NORMAL_SELF,
    "pending_card_payment": NORMAL_SELF,
    "pending_cash_withdrawal": NORMAL_SELF,
    "pending_top_up": NORMAL_SELF,
    "pending_transfer": NORMAL_SELF,
    "declined_card_payment": NORMAL_SELF,
    "declined_cash_withdrawal": NORMAL_SELF,
    "card_not_working": NORMAL_SELF,
    "virtual_card_not_working": NORMAL_SELF,
    "contactless_not_working": NORMAL_SELF,
    "card_arrival": NORMAL_SELF,
    "activate_my_card": NORMAL_SELF,
    "cancel_transfer": NORMAL_SELF,
    "verify_my_identity": NORMAL_SELF,
    "verify_source_of_funds": NORMAL_SELF,
    "verify_top_up": NORMAL_SELF,
    "edit_personal_details": NORMAL_SELF,
    "card_linking": NORMAL_SELF,
    "beneficiary_not_allowed": NORMAL_SELF,
    "transfer_into_account": NORMAL_SELF,
    # --- low: general information and how-tos -------------------------------------------
    "age_limit": LOW,
    "apple_pay_or_google_pay": LOW,
    "atm_support": LOW,
    "automatic_top_up": LOW,
    "card_about_to_expire": LOW,
    "card_acceptance": LOW,
    "card_delivery_estimate": LOW,
    "change_pin": LOW,
    "country_support": LOW,
    "disposable_card_limits": LOW,
    "exchange_charge": LOW,
    "exchange_rate": LOW,
    "exchange_via_app": LOW,
    "fiat_currency_support": LOW,
    "get_disposable_virtual_card": LOW,
    "get_physical_card": LOW,
    "getting_spare_card": LOW,
    "getting_virtual_card": LOW,
    "order_physical_card": LOW,
    "receiving_money": LOW,
    "supported_cards_and_currencies": LOW,
    "top_up_by_bank_transfer_charge": LOW,
    "top_up_by_card_charge": LOW,
    "top_up_by_cash_or_cheque": LOW,
    "top_up_limits": LOW,
    "topping_up_by_card": LOW,
    "transfer_timing": LOW,
    "visa_or_mastercard": LOW,
    "why_verify_identity": LOW,
}

CATEGORIES: tuple[str, ...] = tuple(sorted(POLICY))
"""The BANKING77 intents, sorted: the allowed values of ``TriageResult.category``."""


def policy_for(intent: str) -> IntentPolicy:
    """The policy of ``intent``; raises ``KeyError`` naming the intent if it is not in the table."""
    try:
        return POLICY[intent]
    except KeyError:
        raise KeyError(
            f"Intent {intent!r} is not in the policy table (adapters/policy.py)."
        ) from None
