#!/usr/bin/env python3
"""Calls Describe and Generate on a tso model node using only proto/ (Python grpcio).

Generate the stubs first (from the repository root):

    python3 -m grpc_tools.protoc -I proto --python_out=gen --grpc_python_out=gen \
        proto/tso/v1/common.proto proto/tso/v1/model_node.proto

then run:  PYTHONPATH=gen python3 proto/examples/python_client.py 127.0.0.1:50051
"""
import sys

import grpc
from tso.v1 import common_pb2, model_node_pb2, model_node_pb2_grpc


def main(address: str) -> None:
    with grpc.insecure_channel(address) as channel:
        node = model_node_pb2_grpc.ModelNodeStub(channel)

        # Every call carries a deadline (seconds).
        info = node.Describe(model_node_pb2.DescribeRequest(), timeout=5)
        role = common_pb2.Role.Name(info.role)
        print(f"node {info.node_id}: role={role} model={info.model_name} tier={info.tier} "
              f"backend={info.backend} params={info.param_count} weights={info.weight_version}")

        request = model_node_pb2.GenerateRequest(
            run_id="py-client",
            iteration=0,
            prompts=[common_pb2.Prompt(id="p1", text="sort: 4 1 3")],
            n=2,
            sampling=common_pb2.SamplingParams(temperature=0.8, top_k=0, top_p=1.0,
                                               max_new_tokens=16, seed=42),
        )
        for r in node.Generate(request, timeout=60):
            print(f"{r.prompt_id}#{r.sample_index}: {r.text!r} logprob={r.logprob_sum:.3f} "
                  f"seed={r.lineage.seed} node={r.lineage.node_id}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051")
