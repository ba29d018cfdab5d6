package phone

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/media"
)

func TestMediaIsSentInTheNegotiatedCodec(t *testing.T) {
	rx, err := media.Listen("127.0.0.1")
	require.NoError(t, err)
	defer rx.Close()
	tx, err := media.Listen("127.0.0.1")
	require.NoError(t, err)
	c := newCall(nil, "id", true, "dave", tx)
	defer tx.Close()

	pcmaOnly := []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 4000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n")
	c.startMedia(rx.LocalAddr(), pcmaOnly)
	require.NoError(t, rx.WaitReceived(testCtx(t), tx.SSRC(), 3))
	assert.Equal(t, uint8(media.PayloadPCMA), rx.Stats().Sources[tx.SSRC()].PayloadType)
}

func testCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}
