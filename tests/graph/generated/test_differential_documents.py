"""Generated read documents answer the same, byte for byte, on the compiled and loader paths.

hypothesis-graphql writes queries over the whole `Query` type (`databaseHealth` aside: its
statistics move between two requests); `differential.read_requests` redraws their arguments
from the test's rows (real IDs, cursors of real pages, cities, searched words, nearby points)
and adds variables, aliases, named fragments and `@skip`/`@include`. Each is sent as each kind
of viewer to the app with the compiled path and to the app without it. Refusals (depth, cost,
bad arguments) must be identical too. The terminal summary says how many documents the
compiled path answered and how many fell back to the loaders.
"""

from hypothesis import given
from hypothesis import strategies as st

from tests.graph.generated import differential
from tests.graph.generated.differential import ReadRequest, fill, fill_value, read_requests
from tests.graph.generated.strategies import bounded

viewers = st.sampled_from((None, "member", "host", "admin"))


@bounded(100)
@given(request=st.one_of(read_requests(), read_requests(compiled_shapes=True)), role=viewers)
async def test_generated_reads_answer_the_same_on_both_paths(
    compare_reads, read_world, request: ReadRequest, role: str | None
):
    tally = differential.TALLIES.setdefault("generated reads", differential.Tally())
    compared = await compare_reads(
        fill(request.document, read_world.ids, read_world.cursors),
        fill_value(request.variables, read_world.ids, read_world.cursors),
        role=role,
        operation_name=request.operation_name,
    )
    tally.add(compared.path, compared.body)
