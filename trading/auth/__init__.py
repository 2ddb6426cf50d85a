"""Who may sign in, and for how long a sign-in holds: login throttling (django-axes), optional TOTP
two factor for staff (django-otp), and the rule that a session's sockets end with the session.

    password ──ok──▶ signed in ──(staff, REQUIRE_2FA)──▶ token from a confirmed device ──▶ verified
        │                              └── no device yet ──▶ /dashboard/two-factor/ (set one up)
        └── LOGIN_FAILURE_LIMIT failures for one username from one address ──▶ locked out for
            LOGIN_LOCKOUT_MINUTES (429 page; an entry in the activity log; axes' admin lists it)

    logout (any surface) ──▶ the session's sockets are closed (4401); every socket command re-reads
    the session first, so a socket that missed the close message is refused all the same.
"""
