import numpy as np, pytest
from lifecircle.coverage import distances, network
import tests.unit.test_access_fast as T

def run(tunnel=False, seed=1):
    nodes, edges, _, points, outlets = T.make_city(seed, tunnel=tunnel)
    graph = T.build_graph(nodes, edges)
    o_nodes, o_off, o_group = T.snapped(graph, outlets)
    targets = np.unique(graph.snap(points["lng"], points["lat"])[0])
    got = T.nearest_by_group(graph, o_nodes, o_off, o_group, [T.CAP]*4, targets, workers=1)
    want = T.brute_nearest(graph, targets, o_nodes, o_off, o_group, [T.CAP]*4)
    return np.allclose(got, want, atol=1e-9, rtol=0)

from tests.unit.test_access_fast import small_tiles  # noqa
def test_no_certification_is_caught(small_tiles, monkeypatch):
    monkeypatch.setattr(distances, "SLACK_M", -1e9)
    assert not run()

def test_ignoring_tunnel_is_caught(small_tiles, monkeypatch):
    monkeypatch.setattr(network.WalkGraph, "detour_floor", 1.0)
    assert not run(tunnel=True, seed=5)
