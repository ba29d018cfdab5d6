package admin

import (
	"github.com/pickupsim/pickupsim/sip"
)

// invokeFailOver is Invoke-CsPoolFailOver -PoolFqdn <pool> [-DisasterMode]. As in Lync,
// -DisasterMode fails over a pool that is no longer accessible (after Invoke-PoolOutage);
// without it the administrator fails over a pool that is "still up and running"
// (maintenance), which keeps answering but stops serving its users
// (office-docs-powershell Invoke-CsPoolFailOver.md). The wrong choice is refused with an
// error that says which one the pool needs.
func invokeFailOver(n *sip.Network, p *params, cmd string) (any, error) {
	pool, _ := p.str("PoolFqdn", true)
	disaster, _ := p.boolean("DisasterMode")
	if err := p.check(cmd); err != nil {
		return nil, err
	}
	op := n.InvokePlannedFailOver
	if disaster {
		op = n.InvokeFailOver
	}
	if err := op(pool); err != nil {
		return nil, err
	}
	return poolPhase(n, pool), nil
}
