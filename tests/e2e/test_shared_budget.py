"""One rate budget per token on a machine, through the real CLI: a second stack on the same token waits for the
window the first one used, instead of believing it has the whole limit to itself."""

from __future__ import annotations

PROGRAM = 'from rr_pulumi import Client\nClient("org", client_name="{name}")\n'
PACING = "requestrocket: pacing API requests to 2/min (requestrocket:rateLimitPerMinute); waiting"


def test_a_second_stack_on_the_token_waits_for_the_first_ones_window(rr_stack):
    first, second = rr_stack(PROGRAM.format(name="budget-a")), rr_stack(PROGRAM.format(name="budget-b"))
    for stack in (first, second):
        stack.set_config("requestrocket:rateLimitPerMinute", "2")
    try:
        first.up()  # the token check and the POST: the token's two calls of this minute
        result = second.up()  # its own process, but the same token: its first call waits out the window
        assert PACING in result.output
    finally:
        for stack in (first, second):
            stack.set_config("requestrocket:rateLimitPerMinute", "0")  # no pacing for the clean-up
            stack.destroy(check=False)
