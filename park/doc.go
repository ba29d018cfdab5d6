// Package park holds the pure core of the Call Park application (CPS) of a
// Lync Server 2013 pool, as the simulator reproduces it: the deployment-wide
// call park orbit table and the per-pool CPS settings.
//
// Why a package of its own: every INVITE is routed by looking its dialled
// number up in the orbit table before any user routing (SPEC section 2), and
// the disaster recovery procedure rewrites that table
// (Set-CsCallParkOrbit -CallParkService, SPEC section 5). Both must behave
// exactly like the Central Management store, so the rules live here, with no
// SIP, no sockets and no wall clock, and are tested on their own.
//
// # Orbit table
//
// [OrbitTable] mirrors New-, Set-, Get- and Remove-CsCallParkOrbit. Every
// change is checked against the rules of SPEC section 1, taken from the
// cmdlet help (office-docs-powershell, New-CsCallParkOrbit.md) and from
// "Create or modify a call park orbit range" (OfficeDocs-SkypeForBusiness):
//
//   - a number is an optional * or #, then a first digit 1-9, then more
//     digits: at most 8 digits after a prefix, 9 without; the digits after a
//     prefix must be greater than 100;
//   - start and end have the same length and the same prefix, and
//     start <= end;
//   - no two ranges overlap;
//   - a range holds fewer than 10,000 numbers, and a pool owns fewer than
//     50,000 numbers over all its ranges.
//
// A change that breaks a rule returns an error wrapping one of the exported
// sentinels (ErrOverlap, ErrPoolFull, ...) and leaves the table exactly as it
// was. The message names the range, the offending value and the rule, for
// the Lync administrator who typed it.
//
// Identities and pool names are compared without regard to case, as
// PowerShell and DNS do. A CallParkService given as a service ID
// ("ApplicationServer:pool01.contoso.com") is stored as the bare pool FQDN.
//
// # CPS settings
//
// [CPSConfig] mirrors Set-CsCpsConfiguration (SPEC section 1, notes/lync.md
// section 2): ring-back timeout, ring-back attempts, fallback URI and music on
// hold, with the documented defaults and bounds.
//
// An OrbitTable is not safe for concurrent use: its owner locks.
package park
