package cluster

import (
	"context"
	"slices"
)

// Place says which node should serve a room's next member: this node or
// another that has the room already (its members' media then stays on one
// node), otherwise the least-loaded node. Any node can serve any member;
// placing only saves relaying.
func (n *Node) Place(ctx context.Context, room string) (NodeInfo, error) {
	nodes, err := n.dir.RoomNodes(ctx, room)
	if err != nil {
		return NodeInfo{}, err
	}
	if len(nodes) > 0 {
		id := nodes[0]
		if slices.Contains(nodes, n.cfg.NodeID) {
			id = n.cfg.NodeID
		}
		if info, found, err := n.dir.Node(ctx, id); err != nil || found {
			return info, err
		}
	}
	info, found, err := n.dir.LeastLoaded(ctx)
	if err != nil || found {
		return info, err
	}
	return NodeInfo{ID: n.cfg.NodeID, Relay: n.RelayAddr(), HTTP: n.cfg.HTTPAddr, HTTPS: n.cfg.HTTPSAddr}, nil
}
