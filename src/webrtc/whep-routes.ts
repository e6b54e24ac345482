/**
 * WHEP over HTTP (the WHIP mechanics of RFC 9725 applied to playback, draft-ietf-wish-whep):
 *
 *   POST    /printers/<id>/whep            SDP offer → 201 Created, SDP answer, Location of the session
 *   PATCH   /printers/<id>/whep/<session>  trickle ICE fragment → 204 (an ICE restart → 422)
 *   DELETE  /printers/<id>/whep/<session>  → 200, the session ends
 *   OPTIONS on both                        → 204 with Accept-Post / Accept-Patch
 *   POST    /whep                          the first printer (like /snapshot.jpg)
 *
 * Authentication (`http.users`) and CORS (the card calls this from Home Assistant's origin, so the
 * Location header is exposed) are the HTTP server's, as for every route. An offer sent with
 * `?token=` gets a Location with the same token, so the client can end the session it started.
 *
 * The answer carries every candidate (gathering is instant: the addresses are known), so clients
 * need not trickle. bambucam is ICE lite, so a trickled client candidate changes nothing (the
 * client's own checks reach the shared port) and is accepted without being used.
 */
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import { sendError } from '../serve/http/reply';
import type { WebrtcOutput } from './webrtc-output';
import { WhepError } from './webrtc-output';
import { MAX_OFFER_BYTES } from './whep-sdp';

const SDP = 'application/sdp';
const SDP_FRAG = 'application/trickle-ice-sdpfrag';

function isType(req: Request, type: string): boolean {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase() === type;
}

function fail(res: Response, err: unknown, next: NextFunction): void {
  if (err instanceof WhepError) {
    if (err.retryAfterS) res.set('Retry-After', String(err.retryAfterS));
    sendError(res, err.status, err.code, err.message);
  } else next(err);
}

export function whepRouter(output: WebrtcOutput): Router {
  const router = Router();
  const body = express.text({ type: [SDP, SDP_FRAG], limit: MAX_OFFER_BYTES });

  router.options(['/whep', '/printers/:id/whep', '/printers/:id/whep/:session'], (_req, res) => {
    res.set('Accept-Post', SDP).set('Accept-Patch', SDP_FRAG).status(204).end();
  });

  router.post(['/whep', '/printers/:id/whep'], body, async (req, res, next) => {
    if (!isType(req, SDP)) return sendError(res, 415, 'unsupported_media_type', `send the offer as ${SDP}`);
    if (typeof req.body !== 'string' || req.body.length === 0)
      return sendError(res, 400, 'bad_offer', 'the request has no SDP offer');
    try {
      const id = req.params.id === undefined ? output.firstPrinterId : String(req.params.id);
      if (id === null) return sendError(res, 404, 'no_printer', 'no printer is configured');
      const { session, answer } = await output.createSession(id, req.body);
      const token =
        typeof req.query.token === 'string' ? `?token=${encodeURIComponent(req.query.token)}` : '';
      res
        .status(201)
        .set('Content-Type', SDP)
        .set('Location', `/printers/${encodeURIComponent(id)}/whep/${session.id}${token}`)
        .set('ETag', `"${session.id}"`)
        .set('Accept-Patch', SDP_FRAG)
        .set('Cache-Control', 'no-store')
        .send(answer);
    } catch (err) {
      fail(res, err, next);
    }
  });

  router.patch('/printers/:id/whep/:session', body, (req, res) => {
    const session = output.session(String(req.params.id), String(req.params.session));
    if (!session) return sendError(res, 404, 'unknown_session', 'no such WHEP session (it may have ended)');
    if (!isType(req, SDP_FRAG))
      return sendError(res, 415, 'unsupported_media_type', `send ICE fragments as ${SDP_FRAG}`);
    const ifMatch = req.headers['if-match'];
    if (ifMatch && ifMatch !== '*' && ifMatch !== `"${session.id}"`)
      return sendError(res, 412, 'precondition_failed', 'If-Match does not name this session');
    const ufrag = /^a=ice-ufrag:(\S+)/m.exec(typeof req.body === 'string' ? req.body : '')?.[1];
    if (ifMatch === '*' || (ufrag && session.remoteUfrag && ufrag !== session.remoteUfrag))
      return sendError(
        res,
        422,
        'ice_restart_unsupported',
        'ICE restarts are not supported: start a new session',
      );
    res.status(204).end();
  });

  router.delete('/printers/:id/whep/:session', (req, res) => {
    if (!output.endSession(String(req.params.id), String(req.params.session)))
      return sendError(res, 404, 'unknown_session', 'no such WHEP session (it may have ended)');
    res.status(200).end();
  });

  // Body-parser errors (too large, bad encoding) as JSON, like every other answer here.
  router.use(
    ['/whep', '/printers/:id/whep', '/printers/:id/whep/:session'],
    (err: Error & { status?: number; type?: string }, _req: Request, res: Response, next: NextFunction) => {
      if (err.type === 'entity.too.large')
        return sendError(res, 413, 'offer_too_large', `an SDP offer is at most ${MAX_OFFER_BYTES} bytes`);
      if (err.status && err.status >= 400 && err.status < 500)
        return sendError(res, 400, 'bad_request', err.message);
      next(err);
    },
  );
  return router;
}
